"""Building a quarter: the previous quarter's scores for the change since then."""

import os
import shutil
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmap import _forked
from riskmap._forked import threaded
from riskmap.indicators import build
from riskmap.indicators.build import plain_scores, previous_scores, score_level, scored_level
from riskmap.indicators.privacy import PRIVACY_REASONS
from riskmap.indicators.release import read_release, release_inputs
from riskmap.indicators.values import indicator_values
from riskmap.periods import Period
from riskmap.project import Project

CENTRE = ("185000", "445000")
COLUMNS = ["area_code", "theme", "score", "rank"]


def _hennep(path: Path, dates: list[str]) -> Path:
    pd.DataFrame({"Zaaknummer": [f"H{i}" for i in range(len(dates))], "Datum": dates,
                  "Locatie": "woning", "X_RD": CENTRE[0], "Y_RD": CENTRE[1]}).to_csv(path,
                                                                                     index=False)
    return path


@pytest.fixture
def built(project: Project, tmp_path: Path) -> Project:
    project.load_cbs(2024, offline=True)
    project.load_register("hennep", _hennep(tmp_path / "hennep.csv",
                                            ["2024-06-01", "2025-04-01", "2025-05-01"]))
    project.build("2025Q2")
    return project


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[COLUMNS].sort_values(["theme", "area_code"]).reset_index(drop=True)
    return frame.astype({"rank": float})


def test_previous_scores_are_read_from_its_build_only_while_nothing_changed(
        built: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    computed: list[Period] = []
    compute = build.indicator_values
    monkeypatch.setattr(build, "indicator_values",
                        lambda store, catalogue, period, *a, **k:
                        computed.append(period) or compute(store, catalogue, period, *a, **k))
    config, catalogue, quarter = built.config, built.catalogue(), Period.parse("2025Q2")
    with built.store() as store:
        stored = previous_scores(store, config, catalogue, quarter, "buurt")
        assert computed == []
        fresh = score_level(compute(store, catalogue, quarter, "buurt",
                                    config["privacy.min_count"], report=False),
                            catalogue, "buurt", config, draws=0)
        assert len(fresh) > 0
        pd.testing.assert_frame_equal(_sorted(stored), _sorted(fresh))
        # another catalogue (or other settings, or another riskmap version): computed anew
        previous_scores(store, config, catalogue[1:], quarter, "buurt")
        assert computed == [quarter]
    # another load since the build: computed anew (from the data as it is now)
    built.load_register("hennep", _hennep(tmp_path / "meer.csv", ["2025-06-01"] * 5))
    with built.store() as store:
        previous_scores(store, config, catalogue, quarter, "buurt")
    assert computed == [quarter, quarter]


def test_quarters_built_side_by_side_are_the_builds_one_after_the_other(
        project: Project, tmp_path: Path):
    project.load_cbs(2024, offline=True)
    project.load_register("hennep", _hennep(tmp_path / "hennep.csv",
                                            ["2024-06-01", "2025-01-10", "2025-04-01"] * 3))
    shutil.copytree(project.root, tmp_path / "apart")
    apart = Project(tmp_path / "apart")
    project.build_quarters(["2025Q1", "2025Q2"])
    apart.build("2025Q1")
    apart.build("2025Q2")
    for table in ("builds", "indicator_values", "scores", "released_cells"):
        sql = f"SELECT * EXCLUDE (build_id{', built_at' if table == 'builds' else ''}) FROM {table}"
        with project.store(read_only=True) as one, apart.store(read_only=True) as other:
            side, after = one.query(sql), other.query(sql)
        assert len(side) > 0
        if table == "scores":  # 2025Q2's change, since 2025Q1 built with it
            assert side.loc[side["period"] == "2025Q2", "change"].notna().any()
        key = list(side.columns)
        pd.testing.assert_frame_equal(side.sort_values(key, ignore_index=True),
                                      after.sort_values(key, ignore_index=True), obj=table)


def test_quarters_are_built_and_stored_one_by_one_when_memory_holds_one_process(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project.load_cbs(2024, offline=True)
    project.load_register("hennep", _hennep(tmp_path / "hennep.csv", ["2025-01-10", "2025-04-01"]))
    monkeypatch.setattr(_forked, "available_memory", lambda: 1)
    built: list[str] = []
    build_one = Project.build
    monkeypatch.setattr(Project, "build", lambda self, period, meanwhile=None:
                        built.append(str(period)) or build_one(self, period, meanwhile))
    project.build_quarters(["2025Q1", "2025Q2"])
    assert built == ["2025Q1", "2025Q2"]
    with project.store(read_only=True) as store:
        assert store.query("SELECT period FROM builds ORDER BY build_id")["period"].tolist() == \
            ["2025Q1", "2025Q2"]


@pytest.mark.skipif(not _forked.can_fork(), reason="no fork here")
def test_levels_scored_in_other_processes_are_those_scored_here(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project.load_cbs(2024, offline=True)
    project.load_register("hennep", _hennep(tmp_path / "hennep.csv", ["2024-06-01", "2025-04-01"]))
    scored_in: list[int] = []

    def recorded(*args: object, **kwargs: object) -> build.ScoredLevel | None:
        scored_in.append(os.getpid())  # in a forked process: not seen here
        return scored_level(*args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(build, "scored_level", recorded)
    catalogue, quarter = project.catalogue(), Period.parse("2025Q2")
    with project.store(read_only=True) as store:
        apart = build.computed_period(store, project.config, catalogue, quarter)
        forks = _forked.can_fork() and _forked.cores() >= 2
        assert scored_in == ([] if forks else [os.getpid()] * len(apart.results))
        monkeypatch.setattr(_forked, "can_fork", lambda: False)
        here = build.computed_period(store, project.config, catalogue, quarter)
    assert scored_in[-len(here.results):] == [os.getpid()] * len(here.results)
    assert list(apart.results) == list(here.results) and len(here.results) >= 2
    for level, result in here.results.items():
        pd.testing.assert_frame_equal(apart.results[level].values, result.values, obj=level)
        pd.testing.assert_frame_equal(apart.results[level].scores, result.scores, obj=level)
        assert result.scores["change"].notna().any() or level != "buurt"


def test_a_quarter_computed_elsewhere_while_the_caller_works_is_the_same_build(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project.load_cbs(2024, offline=True)
    project.load_register("hennep", _hennep(tmp_path / "hennep.csv",
                                            ["2024-06-01", "2025-04-01", "2025-05-01"]))
    shutil.copytree(project.root, tmp_path / "here")
    here = Project(tmp_path / "here")
    computed_in, meanwhile_in, stored = [], [], []
    compute, store = build.computed_period, build.store_period

    def computed(*args: object, **kwargs: object) -> build.Built:
        computed_in.append(os.getpid())  # in the forked process: not seen here
        built = compute(*args, **kwargs)
        built.pid = os.getpid()  # type: ignore[attr-defined]
        return built
    monkeypatch.setattr(build, "computed_period", computed)
    monkeypatch.setattr(build, "store_period", lambda *args: stored.append(args[-1].pid)
                        or store(*args))
    project.build("2025Q2", meanwhile=lambda: meanwhile_in.append(os.getpid()))
    assert meanwhile_in == [os.getpid()] and computed_in == []
    assert len(stored) == 1 and stored[0] != os.getpid()
    monkeypatch.undo()
    here.build("2025Q2")
    for table in ("indicator_values", "scores", "released_cells"):
        sql = f"SELECT * EXCLUDE (build_id) FROM {table}"
        with project.store(read_only=True) as one, here.store(read_only=True) as other:
            apart, after = one.query(sql), other.query(sql)
        assert len(apart) > 0
        key = list(apart.columns)
        pd.testing.assert_frame_equal(apart.sort_values(key, ignore_index=True),
                                      after.sort_values(key, ignore_index=True), obj=table)


def test_plain_scores_are_the_scores_and_ranks_of_a_build(built: Project):
    config, catalogue = built.config, built.catalogue()
    with built.store(read_only=True) as store:
        values = build.indicator_values(store, catalogue, Period.parse("2025Q2"), "buurt",
                                        config["privacy.min_count"], report=False)
    full = score_level(values, catalogue, "buurt", config)
    plain = plain_scores(values, catalogue, "buurt", config)
    assert len(plain) > 0 and set(plain.columns) == {*COLUMNS, "level"}
    pd.testing.assert_frame_equal(_sorted(plain), _sorted(full))
    assert plain_scores(values.iloc[:0], catalogue, "buurt", config).empty


def test_an_area_uses_suppressed_data_where_a_value_of_the_theme_is_hidden(built: Project):
    config, catalogue = built.config, built.catalogue()
    with built.store(read_only=True) as store:
        values = build.indicator_values(store, catalogue, Period.parse("2025Q2"), "buurt",
                                        config["privacy.min_count"], report=False)
    values["reason"] = None  # nothing hidden: no area uses suppressed data
    assert not score_level(values, catalogue, "buurt", config, draws=0)["from_suppressed"].any()
    scored = set(plain_scores(values, catalogue, "buurt", config)["theme"])
    indicator = next(i for i in catalogue if set(i.themes_at("buurt")) & scored
                     and i.id in set(values["indicator"]) and len(scored - set(i.themes)) > 1)
    area = values.loc[values["indicator"] == indicator.id, "area_code"].iloc[0]
    values.loc[(values["area_code"] == area) & (values["indicator"] == indicator.id),
               "reason"] = PRIVACY_REASONS[0]
    scores = score_level(values, catalogue, "buurt", config, draws=0)
    flagged = scores.loc[scores["from_suppressed"], ["area_code", "theme"]]
    assert set(flagged["area_code"]) == {area}
    assert set(flagged["theme"]) == {build.OVERALL, *(set(indicator.themes_at("buurt")) & scored)}


def test_the_release_read_beside_other_queries_is_the_release_read_alone(built: Project):
    """``computed_period`` reads the release in a thread while its connection counts the
    measures: the release is the same as read alone, and one read for other levels than those
    with values is read again."""
    period, catalogue, gemeente = Period.parse("2025Q2"), built.catalogue(), built.config.gemeente
    levels = ["buurt", "wijk"]
    with built.store(read_only=True) as store:
        alone = read_release(store, period, catalogue, levels, gemeente)
        with threaded([partial(read_release, store, period, catalogue, levels,
                               gemeente)]) as reading:
            counts = [store.scalar("SELECT count(*) FROM events") for _ in range(50)]
            beside = next(reading)
        values = {"buurt": indicator_values(store, catalogue, period, "buurt", 5, gemeente)}
        inputs = release_inputs(store, period, catalogue, values, gemeente, 5, read=alone)
        again = release_inputs(store, period, catalogue, values, gemeente, 5)
    assert len(set(counts)) == 1 and counts[0] > 0
    assert beside.levels == alone.levels == levels
    pd.testing.assert_frame_equal(beside.cells, alone.cells)
    pd.testing.assert_frame_equal(beside.places, alone.places)
    assert (beside.matrix != alone.matrix).nnz == 0 and alone.matrix.nnz > 0
    assert np.array_equal(beside.counts, alone.counts) and alone.counts.sum() > 0
    # values of the buurten only: the cells of the wijken are not part of the release
    assert set(inputs.cells["grouping"]) == set(again.cells["grouping"])
    assert "wijk" not in set(inputs.cells["grouping"]) and "buurt" in set(alone.cells["grouping"])
    pd.testing.assert_frame_equal(inputs.cells, again.cells)
    assert (inputs.matrix != again.matrix).nnz == 0
    assert np.array_equal(inputs.released, again.released)


def test_a_build_computes_without_the_geometry_plotting_or_solver_libraries(built: Project):
    """A fresh process imports riskmap's command line, the project and the build, loads the
    catalogue and computes a quarter without geopandas, shapely, pyproj, matplotlib or HiGHS
    (``riskmap build`` forks the computation before it imports its writers)."""
    import subprocess
    import sys

    heavy = ("geopandas", "shapely", "pyproj", "matplotlib", "highspy", "sklearn")
    code = (
        "import sys, riskmap.cli\n"
        "from riskmap.project import Project\n"
        "from riskmap.indicators.build import computed_period\n"
        "from riskmap.periods import Period\n"
        f"project = Project({str(built.root)!r})\n"
        "with project.store(read_only=True) as store:\n"
        "    computed_period(store, project.config, project.catalogue(), Period.parse('2025Q2'))\n"
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules) or '-')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "-"
