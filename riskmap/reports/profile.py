"""The profile of one area in a built quarter: what an analyst looks up before a conversation
with the wijkagent or the regisseur. Values are shown as the privacy rules allow."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from riskmap.errors import InputError
from riskmap.indicators.build import OVERALL
from riskmap.maps.areas import driver_list, score_areas, themes_scored
from riskmap.maps.patterns import emerging_areas, hotspot_areas
from riskmap.reports.exports import history_table
from riskmap.reports.quarter import QuarterOutput


@dataclass(frozen=True)
class AreaProfile:
    """One area in one quarter.

    Attributes
    ----------
    summary
        ``code, name, level, period, score, rank, rank_low, rank_high, change, rank_change,
        drivers`` (a list of Dutch labels), ``top_theme``, ``hotspot``, ``emerging`` (Dutch
        categories, ``None`` when not computed) and ``expected_hit_rate`` (the model's chance
        of a finding, ``None`` without a model).
    themes
        One row per theme: ``theme, score, rank``.
    indicators
        One row per indicator: ``key, label, theme, value, index_gemeente, index_nl``.
    history
        The overall and theme scores over all built quarters: ``period, key, value, rank``.
    """

    summary: pd.Series
    themes: pd.DataFrame
    indicators: pd.DataFrame
    history: pd.DataFrame


def _category(frame: pd.DataFrame | None, code: str) -> str | None:
    if frame is None:
        return None
    found = frame.loc[frame["code"] == code, "category"]
    return str(found.iloc[0]) if len(found) and pd.notna(found.iloc[0]) else None


def area_profile(q: QuarterOutput, code: str) -> AreaProfile:
    """The :class:`AreaProfile` of the area ``code`` in the quarter of ``q``."""
    history = history_table(q.store, q.catalogue, codes=[code])
    now = history[history["period"] == str(q.period)]
    if now.empty:
        raise InputError(f"gebied {code!r}: niets berekend voor {q.period}; controleer de code")
    level = str(now["level"].iloc[0])
    overall = score_areas(q.store, q.period, level, OVERALL, q.catalogue).set_index("code")
    row = overall.loc[code]
    scores = now[now["kind"] == "score"]
    themes = scores[scores["key"].isin(themes_scored(q.store, q.period, level))]
    drivers = q.store.scalar("SELECT drivers FROM scores WHERE area_code = ? AND period = ? "
                             "AND theme = ?", [code, str(q.period), OVERALL])
    expected = q.store.scalar("SELECT avg(probability) FROM predictions WHERE area_code = ? "
                              "AND period = ?", [code, str(q.period)])
    summary = pd.Series({
        "code": code, "name": row["name"], "level": level, "period": str(q.period),
        "score": row["score"], "rank": row["rank"], "rank_low": row["rank_low"],
        "rank_high": row["rank_high"], "change": row["change"], "rank_change": row["rank_change"],
        "drivers": driver_list(drivers, {i.id: i.label for i in q.catalogue}),
        "top_theme": themes.sort_values("value", ascending=False)["theme"].iloc[0]
        if themes["value"].notna().any() else None,
        "hotspot": _category(hotspot_areas(q.store, q.period, level)
                             if level == "buurt" else None, code),
        "emerging": _category(emerging_areas(q.store, q.period, level)
                              if level == "buurt" else None, code),
        "expected_hit_rate": None if expected is None or pd.isna(expected) else float(expected),
    })
    return AreaProfile(
        summary,
        themes[["key", "value", "rank"]].rename(columns={"key": "theme", "value": "score"})
        .reset_index(drop=True),
        now[now["kind"] == "indicator"][["key", "label", "theme", "value", "index_gemeente",
                                          "index_nl"]].reset_index(drop=True),
        history[history["kind"] == "score"][["period", "key", "value", "rank"]]
        .reset_index(drop=True))
