"""The history of every area over every built quarter, as it may be shown."""

from __future__ import annotations

import pandas as pd

from riskmap.indicators.privacy import PRIVACY_REASONS
from riskmap.indicators.values import SMALL_DENOMINATOR
from riskmap.reports.history import built_periods, history, indicator_history, score_history


def test_history_hides_what_the_store_does_not_show(demo_run):
    with demo_run.project.store(read_only=True) as store:
        raw = store.query("SELECT * FROM indicator_values")
        table = history(store, demo_run.project.catalogue())
        periods = built_periods(store)
    assert [str(p) for p in periods] == sorted(raw["period"].unique())
    indicators = table[table["kind"] == "indicator"].merge(
        raw, left_on=["period", "code", "key"], right_on=["period", "area_code", "indicator"])
    assert len(indicators) == len(raw)
    hidden = indicators[indicators["suppressed"]]
    assert hidden["value_x"].isna().all()
    assert hidden[["index_gemeente_x", "index_nl_x"]].isna().all().all()
    assert set(hidden["remark"]) <= {*PRIVACY_REASONS, SMALL_DENOMINATOR}
    shown = indicators[~indicators["suppressed"]]
    pd.testing.assert_series_equal(shown["value_x"], shown["value_y"], check_names=False)
    scores = table[table["kind"] == "score"]
    assert scores["rank"].notna().any() and scores["label"].str.len().gt(0).all()
    assert {"numerator", "denominator"}.isdisjoint(table.columns)


def test_history_of_one_area(demo_run):
    with demo_run.project.store(read_only=True) as store:
        code = store.scalar("SELECT min(area_code) FROM scores WHERE level = 'buurt'")
        values = indicator_history(store, codes=[code])
        scores = score_history(store, codes=[code])
    assert set(values["code"]) == {code} == set(scores["code"])
    assert values["period"].nunique() == scores["period"].nunique() == 4
    overall = scores[scores["theme"] == "totaal"]
    assert overall["drivers"].map(lambda d: isinstance(d, list)).all()
