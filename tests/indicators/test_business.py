"""Business-register measures across the KvK's switch to SBI 2025: no jump in the series."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from riskmap.errors import ConfigError
from riskmap.indicators.business import (
    CountQuery,
    distinct_conditions,
    establishments_measure,
    sbi_condition,
)
from riskmap.periods import Period
from riskmap.project import Project

CENTRE = ("185000", "445000")
# (SBI 2008, SBI 2025) of the same establishments, before and after the conversion
CODES = [("96021", "96210"), ("96022", "96220"), ("4511", "47810"), ("4511", "46710"),
         ("4520", "95311"), ("5630", "56300"), ("56101", "56111"), ("68204", "68203"),
         ("6201", "62100"), ("6920", "69201"), ("4120", "41000"), ("7022", "70201"),
         ("8559", "85599"), ("4771", "47711"), ("0002", "0002")]
QUARTERS = [Period(2025, 2), Period(2025, 3), Period(2025, 4)]


def _extract(path: Path, version: int, peildatum: str) -> Path:
    """One buurt's establishments as the KvK delivered them on ``peildatum``; the last one ended
    on 1 August 2025, which an extract from before that date does not know yet."""
    frame = pd.DataFrame({
        "Vestigingsnummer": [f"{i:012d}" for i in range(len(CODES))],
        "SBI hoofdactiviteit": [pair[version == 2025] for pair in CODES],
        "Datum aanvang": "15-03-2019", "Datum einde": "", "Peildatum": peildatum,
        "X RD": CENTRE[0], "Y RD": CENTRE[1]})
    if peildatum > "2025-08-01":
        frame.loc[len(CODES) - 2, "Datum einde"] = "01-08-2025"
    frame.to_csv(path, sep=";", index=False, encoding="cp1252")
    return path


def _share_in_branches(project: Project, period: Period) -> float:
    with project.store(read_only=True) as store:
        buurt = store.scalar("SELECT buurt FROM establishments LIMIT 1")
        branches = establishments_measure(store, {"branches": "all"}, "buurt", period, None,
                                          [buurt]).iloc[0]
        total = establishments_measure(store, {}, "buurt", period, None, [buurt]).iloc[0]
    return round(100 * branches / total, 6)


def test_indicator_series_does_not_jump_at_the_switch(project: Project, tmp_path: Path):
    project.load_kvk(_extract(tmp_path / "kvk_2025q2.csv", 2008, "2025-06-30"))
    before = _share_in_branches(project, QUARTERS[0])
    project.load_kvk(_extract(tmp_path / "kvk_2026.csv", 2025, "2026-01-05"))
    series = [_share_in_branches(project, q) for q in QUARTERS]
    # 8 of 15 in a branch (the 0002 placeholder counts as an establishment, in no branch); the
    # series only moves when the shop in 4771/47711 closes in 2025Q3, never by the recoding
    assert before == series[0] == round(100 * 8 / 15, 6)
    assert series[1] == series[2] == round(100 * 8 / 14, 6)


def test_sbi_filters_match_each_version(project: Project, tmp_path: Path):
    project.load_kvk(_extract(tmp_path / "kvk_2008.csv", 2008, "2025-06-30"))
    with project.store(read_only=True) as store:
        buurt = store.scalar("SELECT buurt FROM establishments LIMIT 1")

        def count(spec: object) -> float:
            return establishments_measure(store, {"sbi": spec}, "buurt", QUARTERS[0], None,
                                          [buurt]).iloc[0]

        # SBI 2025 prefixes, matched on SBI 2008 codes through the class correspondence
        assert count(["5611", "5612", "5630"]) == 2
        assert count({2008: ["9602"], 2025: ["962"]}) == 2


def test_sbi_filter_needs_both_versions_where_a_class_splits():
    with pytest.raises(ConfigError, match="geef beide versies"):
        sbi_condition(["4781"])


def test_a_condition_queries_share_is_computed_once():
    """Conditions are one where their SQL and their parameters' values (and types) are; a
    parameter a query does not use (the start of a longer window) does not tell them apart."""
    end = date(2024, 12, 31)
    active = CountQuery("establishments", ("start_date <= $end", "branch = $b"),
                        {"end": end, "b": "horeca", "first": date(2024, 1, 1)})
    longer = CountQuery("establishments", ("start_date <= $end",),
                        {"end": end, "first": date(2023, 1, 1)})
    as_text = CountQuery("establishments", ("start_date <= $day",), {"day": "2024-12-31"})
    conditions, params, uses = distinct_conditions([active, longer, as_text])
    assert conditions == ["start_date <= $p0", "branch = $p1", "start_date <= $p2"]
    assert params == {"p0": end, "p1": "horeca", "p2": "2024-12-31"}
    assert uses == [(0, 1), (0,), (2,)]
