"""Areas with what maps and reports show of them: scores, ranks, drivers, change, hotspots.

Every frame here is a GeoDataFrame in EPSG:28992 with one row per area of the latest boundary
year; the ``*_text`` columns are the Dutch texts tooltips and tables show.
"""

from __future__ import annotations

import json
import logging

import geopandas as gpd
import pandas as pd

from riskmap.areatypes import scored_levels
from riskmap.fmt import MISSING, number, signed
from riskmap.indicators.build import OVERALL
from riskmap.indicators.catalogue import Indicator
from riskmap.periods import Period
from riskmap.store import Store

log = logging.getLogger(__name__)

SCORE_TOOLTIP = {"name": "Naam", "code": "Code", "score_text": "Score", "rank_text": "Rang",
                 "interval_text": "Rang 5–95%", "drivers_text": "Belangrijkste factoren (totaal)",
                 "change_text": "Verandering t.o.v. vorig kwartaal"}


def latest_areas(store: Store, level: str) -> gpd.GeoDataFrame:
    """Code, name and geometry of the areas of ``level`` in the latest boundary year."""
    areas = store.areas(level)
    if areas.empty:
        return areas[["code", "name", "geometry"]]
    latest = areas[areas["year"] == areas["year"].max()]
    return latest[["code", "name", "geometry"]].reset_index(drop=True)


def levels_scored(store: Store, period: Period) -> list[str]:
    """The levels that have scores for ``period``, in the order buurt, wijk, analysis areas."""
    found = set(store.query("SELECT DISTINCT level FROM scores WHERE period = ?",
                            [str(period)])["level"])
    return [level for level in scored_levels() if level in found]


def themes_scored(store: Store, period: Period, level: str) -> list[str]:
    """The themes (without the overall score) scored at ``level`` in ``period``."""
    themes = store.query("SELECT DISTINCT theme FROM scores WHERE period = ? AND level = ? "
                         "AND theme <> ? ORDER BY theme", [str(period), level, OVERALL])
    return themes["theme"].tolist()


def score_areas(store: Store, period: Period, level: str, theme: str,
                catalogue: list[Indicator]) -> gpd.GeoDataFrame:
    """The areas of ``level`` with their score on ``theme`` (``"totaal"`` = overall).

    Columns: ``code, name, score, rank, rank_low, rank_high, change, rank_change,
    from_suppressed`` and the
    texts ``score_text, rank_text, interval_text, drivers_text, change_text``; the drivers are
    always those of the overall score. Areas without a score keep missing values.

    A read-only store reads each once (maps, reports and exports ask for the same ones); the
    caller gets its own copy.
    """
    labels = tuple((i.id, i.label) for i in catalogue)
    return store.cached(("score_areas", str(period), level, theme, labels),
                        lambda: _score_areas(store, period, level, theme, labels)).copy()


def _score_areas(store: Store, period: Period, level: str, theme: str,
                 labels: tuple[tuple[str, str], ...]) -> gpd.GeoDataFrame:
    scores, drivers = store.cached(("level_scores", str(period), level, labels),
                                   lambda: _level_scores(store, period, level, dict(labels)))
    chosen = scores[scores["theme"] == theme].drop(columns=["theme"])
    frame = latest_areas(store, level).merge(chosen, on="code", how="left")
    frame["drivers_text"] = frame["code"].map(drivers).fillna(MISSING)
    return _with_texts(frame)


def _level_scores(store: Store, period: Period, level: str,
                  labels: dict[str, str]) -> tuple[pd.DataFrame, pd.Series]:
    """Every theme's scores of a level, and the Dutch text of each area's overall drivers
    (``labels``: indicator id -> label)."""
    scores = store.query(
        "SELECT area_code AS code, theme, score, rank, rank_low, rank_high, drivers, change, "
        "rank_change, from_suppressed FROM scores WHERE period = ? AND level = ?",
        [str(period), level])
    overall = scores[scores["theme"] == OVERALL]
    drivers = pd.Series(["; ".join(driver_list(d, labels)) or MISSING for d in overall["drivers"]],
                        index=overall["code"], dtype=object)
    return scores.drop(columns=["drivers"]), drivers


def driver_list(drivers: object, labels: dict[str, str]) -> list[str]:
    """A stored driver list (JSON of indicator ids) as a list of Dutch labels (``labels``:
    indicator id -> label); empty when there is none."""
    if not isinstance(drivers, str) or not drivers:
        return []
    return [labels.get(x, x) for x in json.loads(drivers)]


def _with_texts(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    scored = int(frame["score"].notna().sum())
    frame["score_text"] = frame["score"].map(number)
    frame["rank_text"] = [f"{int(r)} van {scored}" if pd.notna(r) else MISSING
                          for r in frame["rank"]]
    frame["interval_text"] = [f"{lo:.0f}–{hi:.0f}" if pd.notna(lo) and pd.notna(hi) else MISSING
                              for lo, hi in zip(frame["rank_low"], frame["rank_high"],
                                                strict=True)]
    frame["change_text"] = [_change_text(c, r) for c, r in
                            zip(frame["change"], frame["rank_change"], strict=True)]
    return frame


def _change_text(change: object, rank_change: object) -> str:
    if change is None or pd.isna(change):
        return MISSING
    text = f"{signed(change)} punten"
    if rank_change is None or pd.isna(rank_change):
        return text
    steps = int(rank_change)  # type: ignore[call-overload]
    if steps == 0:
        return f"{text}; rang gelijk"
    places = "plaats" if abs(steps) == 1 else "plaatsen"
    return f"{text}; {abs(steps)} {places} {'gestegen' if steps > 0 else 'gedaald'}"
