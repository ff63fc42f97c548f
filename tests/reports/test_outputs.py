"""The tables and maps of a built quarter (``riskmap build``, ``riskmap map``)."""

from __future__ import annotations

import os

import pytest

from riskmap import _forked
from riskmap._forked import can_fork
from riskmap.config import CONFIG_NAME
from riskmap.demo import DemoRun
from riskmap.errors import PrivacyError
from riskmap.project import Project
from riskmap.reports import outputs


def test_tables_written_while_the_maps_render_are_those_written_apart(project_copy: Project,
                                                                      demo_run: DemoRun):
    period = demo_run.period
    together = project_copy.tables_and_maps(period)
    written = {name: path.read_bytes() for name, path in together.items()}
    apart = project_copy.tables(period)
    assert list(together)[:4] == list(apart) == ["scores", "indicatoren", "bronnen", "kwaliteit"]
    for name, path in apart.items():
        assert path.read_bytes() == written[name], name
    assert written["kaart"].startswith(b"<!DOCTYPE html>")
    stems = {name.rsplit("_", 1)[0] for name in together if name.endswith(("_png", "_pdf"))}
    assert "kaart_totaal" in stems and len(stems) > 5
    for stem in stems - {"kaart"}:  # kaart_png is the overall map, also in kaart.png
        assert written[f"{stem}_png"].startswith(b"\x89PNG")
        assert written[f"{stem}_pdf"].startswith(b"%PDF")
    assert written["kaart_png"] == written["kaart_totaal_png"]


@pytest.mark.skipif(not can_fork() or _forked.cores() < 2, reason="needs fork and two cores")
def test_tables_and_page_are_written_by_other_processes_than_the_maps_drawing_one(
        project_copy: Project, demo_run: DemoRun, monkeypatch, tmp_path):
    """On the national store the tables and ``kaart.html`` take 15 and 10 s: ``riskmap build``
    writes them side by side in forked processes (each over a store of its own), not one after
    the other in the process that drew the static maps."""
    seen = tmp_path / "pids"

    def recorded(writer):
        def write(q, **options):
            with seen.open("a") as out:
                out.write(f"{writer.__name__} {os.getpid()}\n")
            return writer(q, **options)
        write.__name__ = writer.__name__
        return write

    for name in ("write_tables", "write_map_page"):
        monkeypatch.setattr(outputs, name, recorded(getattr(outputs, name)))
    paths = project_copy.tables_and_maps(demo_run.period)
    pids = dict(line.split() for line in seen.read_text().splitlines())
    assert set(pids) == {"write_tables", "write_map_page"}
    assert str(os.getpid()) not in pids.values()
    assert paths["kaart"].read_bytes().startswith(b"<!DOCTYPE html>")
    assert paths["scores"].exists() and paths["kaart_totaal_png"].exists()


def test_a_map_whose_text_holds_a_pseudonym_is_not_written(project_copy: Project,
                                                            demo_run: DemoRun):
    """The static maps are drawn and checked in the processes that render them: their guard
    asks the store about what looks like a pseudonym, and a map that holds one is refused
    before any file is written."""
    with project_copy.store(read_only=True) as store:
        leaked = store.scalar("SELECT id FROM addresses ORDER BY id LIMIT 1")
    config = project_copy.root / CONFIG_NAME
    config.write_text(config.read_text(encoding="utf-8").replace("naam: Havenwaard",
                                                                 f"naam: '{leaked}'"),
                      encoding="utf-8")
    project = Project(project_copy.root)
    with pytest.raises(PrivacyError, match="gepseudonimiseerde"):
        project.tables_and_maps(demo_run.period)
    maps = project.output_dir / str(demo_run.period) / "kaarten"
    assert not list(maps.glob("*.png")) and not list(maps.glob("*.pdf"))
