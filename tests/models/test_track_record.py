"""The demo's stored track record: the ranking the outputs use beats both baselines; the same
computed side by side as one after the other."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from riskmap import _forked
from riskmap.demo import DemoRun
from riskmap.models.ranking import stored_choice, stored_track_record
from riskmap.project import Project
from riskmap.store import Store


def test_demo_ranking_used_for_targets_beats_both_baselines(demo_run: DemoRun):
    with Store.open(demo_run.project.config.store_path, read_only=True) as store:
        table = stored_track_record(store, demo_run.period)
        choice = stored_choice(store, demo_run.period)
        models = store.query("SELECT DISTINCT model FROM predictions WHERE period = ?",
                             [str(demo_run.period)])["model"]
    means = table.groupby("method")[["precision_at_k", "auc"]].mean()
    print("\n" + table.pivot(index="period", columns="method", values="auc").round(3).to_string()
          + "\n" + means.round(3).to_string() + f"\nchosen for {demo_run.period}: "
          f"{choice.method} ({choice.reason})")
    assert set(models) == {"hit_rate_logistic", "combined_logistic"}
    assert table["period"].nunique() >= 5
    for baseline in ("last_quarter", "random"):
        assert means.loc["chosen", "auc"] > means.loc[baseline, "auc"]
        assert means.loc["chosen", "precision_at_k"] > means.loc[baseline, "precision_at_k"]
    assert choice.method in {"score", "model", "combined"} and "AUC" in choice.reason


def test_track_record_side_by_side_is_the_track_record_one_after_the_other(
        demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    side, here = (Project(shutil.copytree(demo_run.project.root, tmp_path / name,
                                          ignore=shutil.ignore_patterns("output", "sources")))
                  for name in ("side", "here"))
    forks = _forked.processes_for(9, side.memory_per_process())
    side.track_record(demo_run.period)
    monkeypatch.setattr(_forked, "can_fork", lambda: False)
    here.track_record(demo_run.period)
    for table, key in (("backtests", ["period", "method"]), ("predictions", ["model", "area_code"])):
        sql = f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY {', '.join(key)}"
        with side.store(read_only=True) as one, here.store(read_only=True) as other:
            apart, after = one.query(sql), other.query(sql)
        assert len(apart) > 0
        pd.testing.assert_frame_equal(apart, after, obj=table)
    print(f"\ntrack record computed in {forks} forked processes and in this one: the same")
