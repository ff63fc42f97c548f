"""CBS-based measures: statistics per area (latest year up to the period) and area in hectares.

A measure whose variable no loaded CBS table up to the period has (``niet in tabel``) is
unavailable in that year, which the indicator's rows then say.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from riskmap.periods import Period
from riskmap.sources._cbs_cells import ABSENT
from riskmap.store import Store


def latest_year(store: Store, variable: str, period: Period, codes: Sequence[str]) -> int | None:
    """The latest year up to the period's year with values of ``variable`` for these areas."""
    if not codes:
        return None
    # one list parameter: thousands of '?' marks make DuckDB's planner the bottleneck
    return store.scalar(
        "SELECT max(year) FROM cbs_values WHERE variable = ? AND year <= ? "
        "AND value IS NOT NULL AND area_code IN (SELECT unnest(?::VARCHAR[]))",
        [variable, period.year, list(codes)])


def cbs_values(store: Store, variable: str, year: int | None, codes: Sequence[str]) -> pd.Series:
    """Values of one CBS variable in one year per area code (missing stays missing)."""
    if year is None or not codes:
        return pd.Series(float("nan"), index=pd.Index(codes), dtype=float)
    frame = store.query(
        "SELECT area_code, value FROM cbs_values WHERE variable = ? AND year = ? "
        "AND area_code IN (SELECT unnest(?::VARCHAR[]))", [variable, year, list(codes)])
    return frame.drop_duplicates("area_code").set_index("area_code")["value"].reindex(codes)


ROLES = ("cbs", "percent_of", "mean_of")  # the keys of a CBS measure that name a variable


def measure_variables(params: Mapping[str, Any]) -> list[str]:
    """The CBS variables a measure names: its own, then ``percent_of`` or ``mean_of``."""
    return [str(params[k]) for k in ROLES if k in params]


def _combined(params: Mapping[str, Any], year: int | None,
              values: Callable[[str, int | None], pd.Series]) -> pd.Series:
    """A measure's value per area from its variables' values (``values(variable, year)``)."""
    value = values(str(params["cbs"]), year)
    if "percent_of" in params:
        return value * values(str(params["percent_of"]), year) / 100
    if "mean_of" in params:
        return value * values(str(params["mean_of"]), year)
    return value


def cbs_measure(store: Store, params: Mapping[str, Any], period: Period,
                codes: Sequence[str]) -> tuple[pd.Series, int | None]:
    """A CBS measure per area: the value, or (percent_of / mean_of) the implied count.

    ``{cbs: OnbewoondeWoningen, percent_of: Woningvoorraad}`` gives the number of unoccupied
    dwellings (percentage x dwellings / 100), so that rates aggregate correctly.

    Returns the values and the CBS year they are from.
    """
    year = latest_year(store, str(params["cbs"]), period, codes)
    return _combined(params, year, lambda v, y: cbs_values(store, v, y, codes)), year


def cbs_key(params: Mapping[str, Any]) -> str:
    """A stable key for a CBS measure (its variables), as :meth:`CountQuery.key` is for counts."""
    return "cbs:" + ",".join(f"{k}={params[k]}" for k in ROLES if k in params)


def cbs_measures(store: Store, measures: Sequence[Mapping[str, Any]], period: Period,
                 codes: Sequence[str]) -> dict[str, pd.Series]:
    """:func:`cbs_measure` for many measures at once, from one query; by :func:`cbs_key`."""
    variables = sorted({v for m in measures for v in measure_variables(m)})
    if not variables or not codes:
        return {cbs_key(m): cbs_measure(store, m, period, codes)[0] for m in measures}
    table = store.query(
        "SELECT variable, year, area_code, value FROM cbs_values WHERE year <= ? "
        "AND variable IN (SELECT unnest(?::VARCHAR[])) "
        "AND area_code IN (SELECT unnest(?::VARCHAR[]))", [period.year, variables, list(codes)])
    known = table[table["value"].notna()].groupby("variable")["year"].max()
    # the rows of each variable and year, taken only for those asked for (a measure reads its
    # variables' latest year; a frame per variable and year cost 0.5 ms each)
    table = table.drop_duplicates(["variable", "year", "area_code"])
    at = table.groupby(["variable", "year"]).indices
    area_codes, numbers = table["area_code"].to_numpy(object), table["value"].to_numpy(float)
    empty = pd.Series(float("nan"), index=pd.Index(codes), dtype=float)

    def values(variable: str, year: int | None) -> pd.Series:
        rows = at.get((variable, year)) if year is not None else None
        return empty if rows is None else \
            pd.Series(numbers[rows], index=area_codes[rows]).reindex(codes)

    def year_of(params: Mapping[str, Any]) -> int | None:
        variable = str(params["cbs"])
        return int(known[variable]) if variable in known.index else None

    return {cbs_key(m): _combined(m, year_of(m), values) for m in measures}


def unavailable_years(store: Store, period: Period) -> dict[str, int]:
    """Per CBS variable that no loaded year up to the period has: the latest year up to the
    period whose table lacks it (variables that are loaded with values are not in it)."""
    frame = store.query(
        "SELECT variable, max(year) AS year FROM cbs_values WHERE status = ? AND year <= ? "
        "AND variable NOT IN (SELECT variable FROM cbs_values WHERE value IS NOT NULL "
        "AND year <= ?) GROUP BY variable", [ABSENT, period.year, period.year])
    return dict(zip(frame["variable"], frame["year"].astype(int), strict=True))


def unavailable_year(params: Mapping[str, Any], absent: Mapping[str, int]) -> int | None:
    """The latest CBS year whose table lacks a variable of this measure, when no loaded year
    has it (``None``: available, or not loaded at all); ``absent`` from
    :func:`unavailable_years`."""
    years = [absent[v] for v in measure_variables(params) if v in absent]
    return max(years) if years else None


def area_hectares(store: Store, level: str, codes: Sequence[str]) -> pd.Series:
    """Area in hectares per area code (latest boundary year)."""
    frame = store.query("SELECT code, area_ha FROM areas WHERE level = ? "
                        "QUALIFY row_number() OVER (PARTITION BY code ORDER BY year DESC) = 1",
                        [level])
    return frame.set_index("code")["area_ha"].reindex(codes)
