"""Tables for analysts: scores and indicator values per area with Dutch headers, privacy-safe."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.areatypes import level_label, scored_levels
from riskmap.errors import StoreError
from riskmap.fmt import number
from riskmap.indicators.build import OVERALL
from riskmap.indicators.catalogue import THEME_LABELS, Indicator
from riskmap.indicators.privacy import NOT_SHOWN, threshold
from riskmap.indicators.values import SMALL_COUNT
from riskmap.maps.areas import driver_list
from riskmap.periods import Period
from riskmap.store import Store

LEVEL_LABELS = {level: level_label(level) for level in ("gemeente", *scored_levels())}
SCORE_HEADERS = {
    "level": "Niveau", "code": "Code", "name": "Naam", "score": "Totaalscore", "rank": "Rang",
    "rank_median": "Rang (mediaan onzekerheid)", "rank_low": "Rang 5%", "rank_high": "Rang 95%",
    "change": "Verandering score t.o.v. vorig kwartaal", "rank_change": "Verandering rang",
    "drivers": "Belangrijkste factoren", "from_suppressed": "Gebruikt onderdrukte gegevens",
}


def value_labels(values: pd.DataFrame, catalogue: list[Indicator], min_count: int) -> pd.DataFrame:
    """Indicator values as shown to others (wide: one column per indicator label).

    A value from a count below the minimum shows ``aantal <5``; a value with too small a
    denominator, or none, shows ``–``. Other values are rounded to one decimal.
    """
    labels = {i.id: i.label for i in catalogue}
    shown = values.copy()
    text = shown["value"].map(lambda v: NOT_SHOWN if pd.isna(v) else number(v))
    text = text.where(shown["reason"] != SMALL_COUNT, f"aantal <{threshold(min_count)}")
    text = text.where(~(shown["suppressed"] & (shown["reason"] != SMALL_COUNT)), NOT_SHOWN)
    wide = shown.assign(text=text).pivot(index="area_code", columns="indicator", values="text")
    ordered = [i.id for i in catalogue if i.id in wide.columns]
    return wide[ordered].rename(columns=labels)


def driver_labels(drivers: pd.Series, catalogue: list[Indicator]) -> pd.Series:
    """Driver lists (JSON of indicator ids) as a readable Dutch text."""
    labels = {i.id: i.label for i in catalogue}
    return drivers.map(lambda d: "; ".join(driver_list(d, labels)))


def scores_table(store: Store, period: Period, catalogue: list[Indicator],
                 min_count: int) -> pd.DataFrame:
    """All scored areas of all levels with overall and theme scores and indicator values."""
    scores = store.query("SELECT s.*, a.name FROM scores s JOIN areas a ON a.code = s.area_code "
                         "WHERE s.period = ? QUALIFY row_number() OVER (PARTITION BY s.area_code, "
                         "s.theme ORDER BY a.year DESC) = 1", [str(period)])
    values = store.query("SELECT * FROM indicator_values WHERE period = ?", [str(period)])
    frames = []
    for level in scored_levels():
        part = scores[scores["level"] == level]
        if part.empty:
            continue
        overall = part[part["theme"] == OVERALL].set_index("area_code")
        themes = part[part["theme"] != OVERALL].pivot(index="area_code", columns="theme",
                                                      values="score")
        themes.columns = [f"Score {THEME_LABELS.get(t, t).lower()}" for t in themes.columns]
        table = pd.DataFrame({
            "level": LEVEL_LABELS[level], "code": overall.index, "name": overall["name"],
            "score": overall["score"].round(1), "rank": overall["rank"],
            "rank_median": overall["rank_median"], "rank_low": overall["rank_low"],
            "rank_high": overall["rank_high"], "change": overall["change"].round(1),
            "rank_change": overall["rank_change"],
            "drivers": driver_labels(overall["drivers"], catalogue),
            "from_suppressed": np.where(overall["from_suppressed"], "ja", "nee"),
        }).join(themes.round(1)).join(value_labels(values[values["level"] == level], catalogue,
                                                   min_count))
        frames.append(table.sort_values(["rank", "code"], na_position="last"))
    out = pd.concat(frames, ignore_index=True)
    return out.rename(columns=SCORE_HEADERS)


def scores_frame(store: Store, period: Period, level: str) -> gpd.GeoDataFrame:
    """Scores of one level and period joined to the areas (one row per area)."""
    scores = store.query("SELECT * FROM scores WHERE period = ? AND level = ?",
                         [str(period), level])
    if scores.empty:
        raise StoreError(f"{store.path}: geen scores van niveau {level} voor {period}; draai "
                         f"`riskmap kwartaal --period {period}`")
    overall = scores[scores["theme"] == OVERALL].drop(columns=["theme", "level", "period",
                                                               "build_id"])
    themes = scores[scores["theme"] != OVERALL].pivot(index="area_code", columns="theme",
                                                      values="score").add_prefix("score_")
    areas = store.areas(level)
    areas = areas[areas["year"] == areas["year"].max()][["code", "name", "geometry"]]
    frame = areas.merge(overall, left_on="code", right_on="area_code", how="left") \
        .drop(columns="area_code").join(themes, on="code")
    return frame.sort_values(["rank", "code"]).reset_index(drop=True)
