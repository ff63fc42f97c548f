"""Indicator values on a small project: period windows, denominators and suppression."""

from pathlib import Path

import pandas as pd
import pytest

from riskmap.indicators.business import count_by_area
from riskmap.indicators.catalogue import for_level, load_catalogue
from riskmap.indicators.context import cbs_key, cbs_measure, cbs_measures
from riskmap.indicators.values import (
    SMALL_COUNT,
    SMALL_DENOMINATOR,
    UNAVAILABLE,
    area_codes,
    count_query,
    indicator_values,
    measure_counts,
    scored_indicators,
)
from riskmap.periods import Period
from riskmap.project import Project

CENTRE = ("185000", "445000")


def _hennep(dates: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"Zaaknummer": [f"H{i}" for i in range(len(dates))], "Datum": dates,
                         "Locatie": "woning", "X_RD": CENTRE[0], "Y_RD": CENTRE[1]})


@pytest.fixture
def loaded(project: Project, tmp_path: Path) -> Project:
    project.load_cbs(2024, offline=True)
    dates = ["2023-09-30", "2023-10-01", "2024-06-01", "2025-07-01", "2025-09-30", "2025-10-01"]
    path = tmp_path / "hennep.csv"
    _hennep(dates).to_csv(path, index=False)
    project.load_register("hennep", path)
    return project


def _row(project: Project, period: str, indicator: str) -> pd.Series:
    with project.store() as store:
        values = indicator_values(store, load_catalogue(), Period.parse(period), "buurt")
        buurt = store.query("SELECT DISTINCT buurt FROM events")["buurt"].iloc[0]
    rows = values[(values["indicator"] == indicator) & (values["area_code"] == buurt)]
    return rows.iloc[0]


def test_window_of_24_months_ends_on_the_last_day_of_the_quarter(loaded: Project):
    # 2025Q3 window: 2023-10-01 .. 2025-09-30 -> 4 of the 6 plantations
    row = _row(loaded, "2025Q3", "hennep")
    assert row["numerator"] == 4
    assert row["suppressed"] and row["reason"] == SMALL_COUNT
    assert row["value"] == pytest.approx(1000 * 4 / row["denominator"])
    # 2025Q4: 2024-01-01 .. 2025-12-31; 2024Q2: 2022-07-01 .. 2024-06-30
    assert _row(loaded, "2025Q4", "hennep")["numerator"] == 4
    assert _row(loaded, "2024Q2", "hennep")["numerator"] == 3


def test_small_denominator_gives_no_value(loaded: Project):
    with loaded.store() as store:
        values = indicator_values(store, load_catalogue(), Period(2025, 3), "buurt")
    small = values[values["reason"] == SMALL_DENOMINATOR]
    assert not small.empty and small["value"].isna().all()
    catalogue = {i.id: i for i in load_catalogue()}
    assert all(r.denominator < catalogue[r.indicator].min_denominator for r in small.itertuples())


def test_cbs_measures_in_one_query_equal_one_measure_at_a_time(loaded: Project):
    measures = [m.params for i in load_catalogue() for m in (i.numerator, i.denominator)
                if m is not None and m.kind == "cbs"]
    assert any("percent_of" in m for m in measures) and any("mean_of" in m for m in measures)
    with loaded.store() as store:
        for level in ("buurt", "wijk"):
            codes = store.query("SELECT code FROM areas WHERE level = ? ORDER BY code",
                                [level])["code"].tolist()
            for period in (Period(2024, 4), Period(2019, 1)):
                together = cbs_measures(store, measures, period, codes)
                for params in measures:
                    alone = cbs_measure(store, params, period, codes)[0]
                    pd.testing.assert_series_equal(together[cbs_key(params)], alone,
                                                   check_names=False, check_dtype=False)


def test_cbs_values_are_not_suppressed_as_counts(loaded: Project):
    row = _row(loaded, "2025Q3", "laag_inkomen")
    assert row["reason"] != SMALL_COUNT


def test_cbs_variable_not_in_the_table_says_so(loaded: Project):
    with loaded.store() as store:
        values = indicator_values(store, load_catalogue(), Period(2025, 3), "buurt")
    moves = values[values["indicator"] == "verhuizingen"]
    assert not moves.empty and moves["value"].isna().all() and not moves["suppressed"].any()
    assert set(moves["reason"]) == {f"{UNAVAILABLE} 2024"}
    assert "verhuizingen" not in scored_indicators(
        values.pivot(index="area_code", columns="indicator", values="value"), load_catalogue())


def test_empty_national_reference_is_a_warning_naming_the_table(loaded: Project,
                                                                caplog: pytest.LogCaptureFixture):
    with loaded.store() as store:
        store.con.execute("DELETE FROM cbs_values WHERE area_code = 'NL00'")
        values = indicator_values(store, load_catalogue(), Period(2025, 3), "buurt",
                                  gemeente="GM9999")
    cbs = values[values["indicator"] == "laag_inkomen"]
    assert cbs["index_nl"].isna().all() and cbs["index_gemeente"].notna().any()
    assert "index Nederland = 100 leeg voor" in caplog.text
    assert "laag_inkomen" in caplog.text and "85984NED" in caplog.text


def test_indices_against_gemeente_and_nederland(demo_run):
    with demo_run.project.store(read_only=True) as store:
        rows = store.query("SELECT * FROM indicator_values WHERE period = '2025Q3' AND "
                           "indicator = 'laag_inkomen' AND level = 'buurt' AND value IS NOT NULL")
        national = store.scalar("SELECT value FROM cbs_values WHERE area_code = 'NL00' AND "
                                "variable = 'HuishoudensMetEenLaagInkomen'")
        own = store.query("SELECT variable, value FROM cbs_values WHERE area_code = 'GM9999'") \
            .set_index("variable")["value"]
    assert national == 7.5
    assert rows["index_nl"].to_numpy() == pytest.approx((100 * rows["value"] / national).to_numpy())
    gemeente = own["HuishoudensMetEenLaagInkomen"]
    assert rows["index_gemeente"].to_numpy() == pytest.approx((100 * rows["value"] / gemeente).to_numpy())


def test_counts_of_all_levels_and_quarters_at_once_equal_one_at_a_time(demo_run):
    """One scan per table for every level (analysis areas too) and two quarters gives the
    counts of one query per measure, level and quarter."""
    catalogue = demo_run.project.catalogue()
    levels = ["buurt", "wijk", "bedrijventerrein", "vakantiepark"]
    wanted = [(period, level) for period in (Period(2025, 3), Period(2024, 4)) for level in levels]
    with demo_run.project.store(read_only=True) as store:
        together = measure_counts(store, catalogue, wanted)
        checked = 0
        for period, level in wanted:
            codes = area_codes(store, level)
            for indicator in for_level(catalogue, level):
                for measure in (indicator.numerator, indicator.denominator):
                    query = None if measure is None else \
                        count_query(measure, period, indicator.window)
                    if query is not None:
                        alone = count_by_area(store, level, query, codes)
                        pd.testing.assert_series_equal(together[(period, level)][query.key()],
                                                       alone)
                        checked += alone.sum() > 0
    assert checked > 50
