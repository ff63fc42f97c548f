"""Hotspots (Gi*) and emerging hotspots as areas with a Dutch category, for maps and reports.

The models (:mod:`riskmap.models`) store their results in the ``hotspots`` and
``emerging_hotspots`` tables; this module only reads them. When a table has no rows for the
quarter, the functions return ``None`` and callers show "niet beschikbaar".
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from riskmap.fmt import number
from riskmap.maps.areas import latest_areas
from riskmap.periods import Period
from riskmap.store import Store

NOT_SIGNIFICANT = "Niet significant"
NO_PATTERN = "Geen patroon"
NOT_ANALYSED = "Niet geanalyseerd (geen score of geen buren)"
# Gi*: the dark ends of a colour-blind-safe diverging pair (ColorBrewer RdBu red, PuOr purple)
HOTSPOT_COLOURS = {"Hotspot": "#b2182b", "Coldspot": "#5e3c99"}
# Okabe-Ito qualitative colours, distinguishable with every common colour-vision deficiency
EMERGING_COLOURS = {
    "Nieuwe hotspot": "#CC79A7", "Toenemende hotspot": "#D55E00",
    "Aanhoudende hotspot": "#E69F00", "Sporadische hotspot": "#F0E442",
    "Afnemende hotspot": "#56B4E9", "Voormalige hotspot": "#999999",
}
# Category words the models may use, in English or Dutch, and the label maps show.
_EMERGING_WORDS = {
    "new": "Nieuwe hotspot", "nieuw": "Nieuwe hotspot",
    "intensifying": "Toenemende hotspot", "toenemend": "Toenemende hotspot",
    "persistent": "Aanhoudende hotspot", "aanhoudend": "Aanhoudende hotspot",
    "sporadic": "Sporadische hotspot", "sporadisch": "Sporadische hotspot",
    "diminishing": "Afnemende hotspot", "afnemend": "Afnemende hotspot",
    "former": "Voormalige hotspot", "voormalig": "Voormalige hotspot",
}
HOTSPOT_TOOLTIP = {"name": "Naam", "code": "Code", "category": "Patroon",
                   "detail_text": "Toelichting"}


def hotspot_label(category: object) -> str | None:
    """The Dutch label of a Gi* category: ``Hotspot``, ``Coldspot`` or ``Niet significant``;
    ``None`` for an area without a value or without neighbours (shown as missing)."""
    text = str(category or "").lower()
    if text in {"no_value", "no_neighbours"}:
        return None
    if "hot" in text:
        return "Hotspot"
    if "cold" in text:
        return "Coldspot"
    return NOT_SIGNIFICANT


def emerging_label(category: object) -> str:
    """The Dutch label of an emerging-hotspot category (``Geen patroon`` when none)."""
    text = str(category or "").lower()
    return next((label for word, label in _EMERGING_WORDS.items() if word in text), NO_PATTERN)


def _detail(z: float, q: float) -> str:
    if pd.isna(z):
        return "–"
    return f"z = {number(z, 2)}" + (f"; q = {number(q, 3)}" if pd.notna(q) else "")


def hotspot_areas(store: Store, period: Period, level: str = "buurt") -> gpd.GeoDataFrame | None:
    """Every area of ``level`` with its Gi* category for ``period`` (missing where it was not
    analysed); ``None`` when nothing was computed.

    Uses the Gi* results of the overall score when there are several variables.
    """
    rows = store.query("SELECT * FROM hotspots WHERE period = ? AND level = ? "
                       "AND lower(method) LIKE '%gi%'", [str(period), level])
    if rows.empty:
        return None
    frame = _on_areas(store, rows, level)
    frame["category"] = frame["category"].map(hotspot_label, na_action="ignore")
    frame["detail_text"] = [_detail(z, q) for z, q in zip(frame["z"], frame["q_value"],
                                                          strict=True)]
    return frame


def _on_areas(store: Store, rows: pd.DataFrame, level: str) -> gpd.GeoDataFrame:
    """The results of one variable (the overall score where there are several) joined to every
    area of ``level``; the variable is kept in ``attrs``."""
    variable = "totaal" if "totaal" in set(rows["variable"]) else sorted(rows["variable"])[0]
    frame = latest_areas(store, level).merge(rows[rows["variable"] == variable], left_on="code",
                                             right_on="area_code", how="left")
    frame.attrs["variable"] = variable
    return frame


def emerging_areas(store: Store, period: Period,
                   level: str = "buurt") -> gpd.GeoDataFrame | None:
    """Every area of ``level`` with its emerging-hotspot category over the quarters ending at
    ``period`` (missing where it was not analysed); ``None`` when nothing was computed."""
    rows = store.query("SELECT * FROM emerging_hotspots WHERE last_period = ? AND level = ?",
                       [str(period), level])
    if rows.empty:
        return None
    frame = _on_areas(store, rows, level)
    frame["category"] = frame["category"].map(emerging_label, na_action="ignore")
    frame["detail_text"] = [f"{first} t/m {last}" if isinstance(first, str) else "–"
                            for first, last in zip(frame["first_period"], frame["last_period"],
                                                   strict=True)]
    return frame
