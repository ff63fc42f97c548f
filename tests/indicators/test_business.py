"""Business-register measures across the KvK's switch to SBI 2025: no jump in the series."""

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmap.errors import ConfigError
from riskmap.indicators.business import (
    BITS,
    CountQuery,
    counts_by_levels,
    distinct_conditions,
    establishments_measure,
    sbi_condition,
)
from riskmap.periods import Period
from riskmap.project import Project
from riskmap.store import Store

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


def test_counts_by_levels_equal_a_count_per_query(tmp_path: Path):
    """Counted per combination of the conditions met, then summed per query: the counts of one
    ``count(*)`` per query and area, also with more conditions than one number has bits, with
    conditions that are NULL (not met), rows in no area of a level and areas asked twice."""
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame({
        "id": [f"v{i}" for i in range(n)], "staff": rng.integers(0, 90, n).astype(float),
        "buurt": rng.choice(["BU01", "BU02", "BU03", None], n),
        "wijk": rng.choice(["WK01", "WK02", None], n), "load_id": 1})
    frame.loc[rng.random(n) < 0.2, "staff"] = np.nan  # staff > $x is NULL there
    with Store.open(tmp_path / "riskmap.duckdb", create=True) as store:
        with store.transaction():
            store.insert("establishments", frame)
        queries = [CountQuery("establishments", (f"staff > $x{k}",), {f"x{k}": k})
                   for k in range(BITS + 8)]
        queries += [CountQuery("establishments", ("staff > $a", "staff < $b"), {"a": 3, "b": 80}),
                    CountQuery("establishments", ("staff > $a", f"staff < $x{BITS + 5}"),
                               {"a": 3, f"x{BITS + 5}": BITS + 5}),
                    CountQuery("establishments", (), {})]
        codes = {"buurt": ["BU03", "BU01", "BU09", "BU01"], "wijk": ["WK01", "WK02"]}
        counted = counts_by_levels(store, {"buurt": queries, "wijk": queries[::-1]}, codes)
        for level, column in (("buurt", "buurt"), ("wijk", "wijk")):
            for query in queries:
                where = " AND ".join(query.conditions) or "true"
                expected = [float(store.scalar(f"SELECT count(*) FROM establishments WHERE "
                                               f"{column} = $code AND {where}",
                                               {**query.params, "code": code}))
                            for code in codes[level]]
                got = counted[level][query.key()]
                assert got.index.tolist() == codes[level]
                assert got.dtype == np.float64 and got.tolist() == expected, (level, query)
