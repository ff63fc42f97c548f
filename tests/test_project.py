from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import riskmap.project
from riskmap.errors import InputError
from riskmap.project import Project


def _terreinen(path: Path, count: int) -> Path:
    """An own bedrijventerreinen layer of ``count`` sites."""
    gpd.GeoDataFrame({"terrein_id": [f"K{i}" for i in range(count)],
                      "omschrijving": [f"Terrein {i}" for i in range(count)]},
                     geometry=[shapely.box(189_000 + 300 * i, 443_000, 189_200 + 300 * i, 443_500)
                               for i in range(count)], crs=28992).to_file(path)
    return path


def test_a_session_keeps_one_store_open_for_every_load_and_step(project: Project):
    with project.session():
        with project.store() as first, project.store(read_only=True) as second:
            assert first is second
        with project.session(), project.store() as nested:  # a session inside one is that one
            assert nested is first
        with project.store(read_only=True) as store:
            store.scalar("SELECT count(*) FROM areas")  # still open after the inner blocks
    with project.store(read_only=True) as after:
        assert after is not first
    with pytest.raises(Exception, match="closed"):
        first.scalar("SELECT 1")  # the session closed its store


def test_a_session_applies_each_loads_own_rule_against_shrinking(project: Project,
                                                                 tmp_path: Path):
    five, one = _terreinen(tmp_path / "five.gpkg", 5), _terreinen(tmp_path / "one.gpkg", 1)
    options = {"id_field": "terrein_id", "name_field": "omschrijving"}
    with project.session():
        project.load_bedrijventerreinen(five, allow_shrink=True, **options)
        # the rule of the load before (allowed) does not carry over to the next one
        with pytest.raises(InputError, match=r"zou 5 opgeslagen rijen .* vervangen door 1"):
            project.load_bedrijventerreinen(one, **options)
        with project.store(read_only=True) as store:
            assert len(store.areas("bedrijventerrein")) == 5  # nothing lost
            assert not store.allow_shrink


def test_a_forked_process_does_not_use_the_sessions_store(project: Project,
                                                          monkeypatch: pytest.MonkeyPatch):
    with project.session(), project.store() as store:
        pid = riskmap.project.os.getpid()
        monkeypatch.setattr(riskmap.project.os, "getpid", lambda: pid + 1)
        with project.store() as other:
            assert other is not store
        monkeypatch.undo()
        with project.store() as again:
            assert again is store
