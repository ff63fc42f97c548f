"""The static maps of a quarter: the overall score, each theme and the hotspot patterns.

Maps are yielded one at a time, each drawn only when its ``draw`` is called, so that callers
can save each figure and let it go before the next is drawn (a quarter has about ten) and a
map already rendered need not be drawn again. Figures are matplotlib ``Figure`` objects
without pyplot, which would keep every figure until it is closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import pandas as pd
from matplotlib.figure import Figure

from riskmap.areatypes import analysis_levels, level_label
from riskmap.fmt import long_date
from riskmap.indicators.build import OVERALL
from riskmap.indicators.catalogue import AREA_ONLY_THEMES, Indicator
from riskmap.maps.areas import latest_areas, levels_scored, score_areas, themes_scored
from riskmap.maps.layers import theme_title
from riskmap.maps.patterns import (
    EMERGING_COLOURS,
    HOTSPOT_COLOURS,
    NO_PATTERN,
    NOT_ANALYSED,
    NOT_SIGNIFICANT,
    emerging_areas,
    hotspot_areas,
)
from riskmap.maps.static import static_map
from riskmap.periods import Period
from riskmap.store import Store

QUIET = "#f2f2f2"
FIGSIZE = (8.27, 6.2)  # inches: A4 landscape width; the report embeds the same images


@dataclass
class StaticMap:
    """One static map: a file stem (``kaart_drugs``), its Dutch title and how to draw it."""

    stem: str
    title: str
    draw: Callable[[], Figure]


def theme_maps(store: Store, period: Period, catalogue: list[Indicator],
               place: str) -> Iterator[StaticMap]:
    """The overall score and each theme per buurt, analysis areas outlined.

    Themes of analysis areas only (``gelegenheid``) are drawn per area type, over the buurten in
    grey.
    """
    date = long_date(period.end)
    levels = levels_scored(store, period)
    types = [lv for lv in analysis_levels() if lv in levels]
    outlines = pd.concat([latest_areas(store, lv) for lv in types]) if types else None
    label = " / ".join(level_label(lv) for lv in types)
    if "buurt" in levels:
        for theme in [OVERALL, *themes_scored(store, period, "buurt")]:
            title = f"{theme_title(theme)} per buurt – {place}, {period}"
            areas = score_areas(store, period, "buurt", theme, catalogue)
            yield StaticMap(f"kaart_{theme}", title, partial(
                static_map, areas, "score", title, date, legend_title="Score (0–100)",
                outlines=outlines, outline_label=label or "Bedrijventerrein", figsize=FIGSIZE))
    for level in types:
        for theme in [t for t in themes_scored(store, period, level) if t in AREA_ONLY_THEMES]:
            title = f"{theme_title(theme)} per {level_label(level).lower()} – {place}, {period}"
            areas = score_areas(store, period, level, theme, catalogue)
            name = f"kaart_{theme}" if level == types[0] else f"kaart_{theme}_{level}"
            yield StaticMap(name, title, partial(
                static_map, areas, "score", title, date, legend_title="Score (0–100)",
                background=latest_areas(store, "buurt"), figsize=FIGSIZE))


def pattern_maps(store: Store, period: Period, place: str) -> Iterator[StaticMap]:
    """Gi* hotspots and emerging hotspots per buurt, when they have been computed."""
    date = long_date(period.end)
    hotspots = hotspot_areas(store, period)
    if hotspots is not None:
        title = f"Hotspots (Gi*) van de totaalscore – {place}, {period}"
        yield StaticMap("kaart_hotspots", title, partial(
            static_map, hotspots, "category", title, date, legend_title="Gi*, na FDR-correctie",
            categories={**HOTSPOT_COLOURS, NOT_SIGNIFICANT: QUIET}, figsize=FIGSIZE,
            missing_label=NOT_ANALYSED))
    emerging = emerging_areas(store, period)
    if emerging is not None:
        title = f"Opkomende hotspots t/m {period} – {place}"
        yield StaticMap("kaart_opkomende_hotspots", title, partial(
            static_map, emerging, "category", title, date, legend_title="Patroon over de kwartalen",
            categories={**EMERGING_COLOURS, NO_PATTERN: QUIET}, figsize=FIGSIZE,
            missing_label=NOT_ANALYSED))
