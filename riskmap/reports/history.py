"""Every area over every built quarter: indicators, scores and hotspot status, as they may be shown.

The one assembly of "area × quarter" data that outputs share: the dashboard reads it, and so can a
long history export or an area profile. Values pass :func:`riskmap.indicators.privacy.
display_values` one quarter at a time (the whole release of that quarter, all levels together);
an index of a value that is not shown is not shown either, and a driver never names an indicator
whose value the area does not show.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import pandas as pd

from riskmap.indicators.build import OVERALL
from riskmap.indicators.catalogue import THEME_LABELS, Indicator
from riskmap.indicators.privacy import display_values, public_table
from riskmap.maps.patterns import emerging_label, hotspot_label
from riskmap.periods import Period
from riskmap.store import Store

log = logging.getLogger(__name__)

INDICATOR_COLUMNS = ["period", "level", "code", "indicator", "value", "index_gemeente",
                     "index_nl", "reason"]
SCORE_COLUMNS = ["period", "level", "code", "theme", "score", "rank", "rank_low", "rank_high",
                 "change", "rank_change", "from_suppressed", "drivers"]
PATTERN_COLUMNS = ["period", "level", "code", "hotspot", "z", "q_value", "emerging"]


def built_periods(store: Store) -> list[Period]:
    """The quarters that have been built, oldest first."""
    periods = store.query("SELECT DISTINCT period FROM builds")["period"]
    return sorted(Period.parse(p) for p in periods)


def _where(periods: Sequence[Period] | None, levels: Sequence[str] | None,
           codes: Sequence[str] | None, code_column: str = "area_code") -> tuple[str, list]:
    clauses, params = ["TRUE"], []
    for column, wanted in (("period", [str(p) for p in periods or []]), ("level", levels),
                           (code_column, codes)):
        if wanted:
            clauses.append(f"{column} IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(wanted))
    return " AND ".join(clauses), params


def indicator_history(store: Store, periods: Sequence[Period] | None = None,
                      levels: Sequence[str] | None = None,
                      codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Indicator values per quarter, level and area, with their indices, as they may be shown.

    Columns :data:`INDICATOR_COLUMNS`; ``value`` and both indices are missing where the value is
    not shown, and ``reason`` says why (``klein aantal``, ``kleine noemer``). Numerators and
    denominators stay in the store.
    """
    where, params = _where(periods, levels, codes)
    rows = store.query(f"SELECT * FROM indicator_values WHERE {where} "
                       f"ORDER BY period, level, area_code, indicator", params)
    if rows.empty:
        return pd.DataFrame(columns=INDICATOR_COLUMNS)
    shown = pd.concat([display_values(part) for _, part in rows.groupby("period", sort=False)])
    visible = shown.reindex(rows.index).notna()
    return pd.DataFrame({
        "period": rows["period"], "level": rows["level"], "code": rows["area_code"],
        "indicator": rows["indicator"], "value": shown.reindex(rows.index),
        "index_gemeente": rows["index_gemeente"].where(visible),
        "index_nl": rows["index_nl"].where(visible),
        "reason": rows["reason"].where(rows["suppressed"].astype(bool)),
    }).reset_index(drop=True)


def hidden_cells(indicators: pd.DataFrame) -> pd.DataFrame:
    """``period, code, indicator`` of the values not shown (a driver may not name them)."""
    hidden = indicators[indicators["value"].isna()]
    return hidden[["period", "code", "indicator"]].drop_duplicates()


def shown_drivers(scores: pd.DataFrame, hidden: pd.DataFrame) -> pd.Series:
    """Each score's drivers (JSON lists of indicator ids) as lists without the indicators whose
    value that area does not show in that quarter."""
    lists = scores["drivers"].map(lambda d: json.loads(d) if isinstance(d, str) else [])
    long = lists.explode().dropna().rename("indicator").to_frame()
    long = long.join(scores[["period", "code"]])
    long["row"] = long.index
    flagged = long.merge(hidden.assign(hidden=True), on=["period", "code", "indicator"],
                         how="left")
    kept = flagged[flagged["hidden"].isna()]
    if len(kept) < len(flagged):
        log.debug("privacy: %d drivers not named (their values are not shown)",
                  len(flagged) - len(kept))
    grouped = kept.groupby("row")["indicator"].agg(list)
    return pd.Series([grouped.get(i, []) for i in scores.index], index=scores.index, dtype=object)


def score_history(store: Store, periods: Sequence[Period] | None = None,
                  levels: Sequence[str] | None = None, codes: Sequence[str] | None = None,
                  hidden: pd.DataFrame | None = None) -> pd.DataFrame:
    """Theme and overall scores per quarter, level and area (columns :data:`SCORE_COLUMNS`).

    ``drivers`` is a list of indicator ids (overall score only) without those in ``hidden``
    (default: the values :func:`indicator_history` does not show).
    """
    where, params = _where(periods, levels, codes)
    scores = store.query(f"SELECT * FROM scores WHERE {where} ORDER BY period, level, area_code, "
                         f"theme", params).rename(columns={"area_code": "code"})
    if scores.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    if hidden is None:
        hidden = hidden_cells(indicator_history(store, periods, levels, codes))
    scores["drivers"] = shown_drivers(scores, hidden)
    return scores[SCORE_COLUMNS]


def pattern_history(store: Store, periods: Sequence[Period] | None = None,
                    level: str = "buurt") -> pd.DataFrame:
    """Gi* category (Dutch: ``Hotspot``, ``Coldspot``, ``Niet significant``) per quarter and area,
    with ``z`` and ``q_value``, and the emerging-hotspot category of the run ending that quarter.

    Uses the results of the overall score where several variables were analysed; a quarter
    without results has no rows.
    """
    where, params = _where(periods, [level], None)
    hot = store.query(f"SELECT period, area_code AS code, variable, category, z, q_value "
                      f"FROM hotspots WHERE {where} AND lower(method) LIKE '%gi%'", params)
    hot = _one_variable(hot, "period")
    hot["hotspot"] = hot["category"].map(hotspot_label)
    where, params = _where(None, [level], None)
    marks = [str(p) for p in periods or []]
    emerging = store.query(f"SELECT last_period AS period, area_code AS code, variable, category "
                           f"FROM emerging_hotspots WHERE {where}"
                           + (" AND last_period IN (SELECT unnest(?::VARCHAR[]))" if marks else ""),
                           params + ([marks] if marks else []))
    emerging = _one_variable(emerging, "period")
    emerging["emerging"] = emerging["category"].map(emerging_label)
    frame = hot[["period", "code", "hotspot", "z", "q_value"]].merge(
        emerging[["period", "code", "emerging"]], on=["period", "code"], how="outer")
    return frame.assign(level=level)[PATTERN_COLUMNS].sort_values(["period", "code"],
                                                                  ignore_index=True)


def _one_variable(rows: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per ``by``: the rows of the overall score, or of the first variable when it is absent."""
    if rows.empty:
        return rows
    chosen = rows.groupby(by)["variable"].agg(
        lambda v: OVERALL if OVERALL in set(v) else sorted(v)[0])
    return rows[rows["variable"] == rows[by].map(chosen)].reset_index(drop=True)


def history(store: Store, catalogue: list[Indicator], periods: Sequence[Period] | None = None,
            levels: Sequence[str] | None = None,
            codes: Sequence[str] | None = None) -> pd.DataFrame:
    """The long history table: one row per quarter × area × indicator or score.

    Columns ``period, level, code, name, kind`` (``indicator`` or ``score``), ``key`` (indicator
    id or theme), ``label``, ``unit``, ``value``, ``index_gemeente``, ``index_nl``, ``rank``,
    ``rank_low``, ``rank_high``, ``change``, ``remark``. Values as they may be shown (see
    :func:`indicator_history`); checked by :func:`riskmap.indicators.privacy.public_table`.
    """
    indicators = indicator_history(store, periods, levels, codes)
    scores = score_history(store, periods, levels, codes, hidden_cells(indicators))
    by_id = {i.id: i for i in catalogue}
    ind = pd.DataFrame({
        "period": indicators["period"], "level": indicators["level"], "code": indicators["code"],
        "kind": "indicator", "key": indicators["indicator"],
        "label": indicators["indicator"].map(lambda i: by_id[i].label if i in by_id else i),
        "unit": indicators["indicator"].map(lambda i: by_id[i].unit if i in by_id else ""),
        "value": indicators["value"], "index_gemeente": indicators["index_gemeente"],
        "index_nl": indicators["index_nl"], "remark": indicators["reason"]})
    sco = pd.DataFrame({
        "period": scores["period"], "level": scores["level"], "code": scores["code"],
        "kind": "score", "key": scores["theme"],
        "label": scores["theme"].map(lambda t: THEME_LABELS.get(t, t)), "unit": "0–100",
        "value": scores["score"], "rank": scores["rank"], "rank_low": scores["rank_low"],
        "rank_high": scores["rank_high"], "change": scores["change"],
        "remark": scores["from_suppressed"].map(
            lambda f: "mede berekend uit niet getoonde waarden" if f is True else None)})
    frame = pd.concat([ind, sco], ignore_index=True)
    names = store.query("SELECT code, name FROM areas QUALIFY row_number() OVER "
                        "(PARTITION BY code ORDER BY year DESC) = 1").set_index("code")["name"]
    frame.insert(3, "name", frame["code"].map(names))
    frame = frame.sort_values(["period", "level", "code", "kind", "key"], ignore_index=True)
    return public_table(frame, "history")
