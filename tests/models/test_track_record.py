"""The demo's stored track record: the ranking the outputs use beats both baselines."""

from riskmap.models.ranking import stored_choice, stored_track_record
from riskmap.pipeline import DemoRun
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
