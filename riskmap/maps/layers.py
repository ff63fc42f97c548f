"""The layers of a quarter's interactive map, read from the store.

Base layers (one at a time): the overall score and each theme per buurt, and the overall score
per wijk. Overlays: bedrijventerreinen, Gi* hotspots, emerging hotspots and grid aggregates
(register signals per 500 m cell, from :func:`riskmap.models.grid.public_grid_counts`).
A layer whose results are not in the store is left out and named in the map's notes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from riskmap.areatypes import analysis_levels, level_label
from riskmap.indicators.build import OVERALL
from riskmap.indicators.catalogue import AREA_ONLY_THEMES, THEME_LABELS, Indicator
from riskmap.indicators.privacy import threshold
from riskmap.maps.areas import SCORE_TOOLTIP, levels_scored, score_areas, themes_scored
from riskmap.maps.classes import COUNT_PALETTE
from riskmap.maps.interactive import MapLayer
from riskmap.maps.patterns import (
    EMERGING_COLOURS,
    HOTSPOT_COLOURS,
    HOTSPOT_TOOLTIP,
    emerging_areas,
    hotspot_areas,
)
from riskmap.models.grid import public_grid_counts
from riskmap.models.variables import SIGNAL_KINDS
from riskmap.periods import Period
from riskmap.store import Store

log = logging.getLogger(__name__)

NOT_AVAILABLE = "niet beschikbaar"
GRID_SIZE = 500
GRID_LAYER = "Signalen per 500 m-cel (12 mnd)"
# outline colours of the analysis-area types, in their order (bedrijventerreinen first)
AREA_OUTLINES = ("#1f3a93", "#8c2d04", "#006d2c", "#54278f")


@dataclass
class MapContent:
    """The layers of a map and Dutch notes on what could not be shown."""

    layers: list[MapLayer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def theme_title(theme: str) -> str:
    """The Dutch name of a theme (or of the overall score) as used in titles."""
    return THEME_LABELS.get(theme, theme)


def score_layers(store: Store, period: Period, catalogue: list[Indicator]) -> list[MapLayer]:
    """Overall and theme scores per buurt and wijk (base layers) and per analysis area
    (bedrijventerrein, vakantiepark, ...)."""
    levels = levels_scored(store, period)
    layers: list[MapLayer] = []
    if "buurt" in levels:
        for theme in [OVERALL, *themes_scored(store, period, "buurt")]:
            layers.append(MapLayer(
                f"Buurten – {theme_title(theme).lower()}",
                score_areas(store, period, "buurt", theme, catalogue), "score", SCORE_TOOLTIP,
                show=theme == OVERALL, base=True,
                legend_title="Totaalscore (0–100)" if theme == OVERALL else "Themascore (0–100)"))
    if "wijk" in levels:
        layers.append(MapLayer("Wijken – totaalscore",
                               score_areas(store, period, "wijk", OVERALL, catalogue), "score",
                               SCORE_TOOLTIP, show="buurt" not in levels, base=True,
                               legend_title="Totaalscore (0–100)"))
    for level in [lv for lv in analysis_levels() if lv in levels]:
        themes = [t for t in themes_scored(store, period, level) if t in AREA_ONLY_THEMES]
        for theme in [OVERALL, *themes]:
            layers.append(MapLayer(
                f"{level_label(level, plural=True)} – {theme_title(theme).lower()}",
                score_areas(store, period, level, theme, catalogue), "score",
                SCORE_TOOLTIP, show=theme == OVERALL, legend_title="Score (0–100)",
                outline=AREA_OUTLINES[analysis_levels().index(level) % len(AREA_OUTLINES)]))
    return layers


def pattern_layers(store: Store, period: Period) -> MapContent:
    """Gi* hotspots and emerging hotspots per buurt (only significant buurten are drawn)."""
    content = MapContent()
    hotspots = hotspot_areas(store, period)
    if hotspots is None:
        content.notes.append(f"Hotspots (Gi*): {NOT_AVAILABLE} – nog niet berekend voor {period}")
    else:
        significant = hotspots[hotspots["category"].isin(list(HOTSPOT_COLOURS))]
        content.layers.append(MapLayer("Hotspots (Gi*)", significant, "category",
                                       HOTSPOT_TOOLTIP, show=False, categories=HOTSPOT_COLOURS,
                                       legend_title="Significant na FDR-correctie"))
        if significant.empty:
            content.notes.append("Hotspots (Gi*): geen significante buurten")
    emerging = emerging_areas(store, period)
    if emerging is None:
        content.notes.append(f"Opkomende hotspots: {NOT_AVAILABLE} – nog niet berekend "
                             f"voor {period}")
    else:
        significant = emerging[emerging["category"].isin(list(EMERGING_COLOURS))]
        content.layers.append(MapLayer("Opkomende hotspots", significant, "category",
                                       HOTSPOT_TOOLTIP, show=False, categories=EMERGING_COLOURS,
                                       legend_title="Patroon over de kwartalen"))
        if significant.empty:
            content.notes.append("Opkomende hotspots: geen buurten met een patroon")
    return content


def layers_from_store(store: Store, period: Period, catalogue: list[Indicator],
                      min_count: int) -> MapContent:
    """All layers of the quarter's map, with notes on what is not available."""
    content = MapContent(score_layers(store, period, catalogue))
    patterns = pattern_layers(store, period)
    content.layers += [layer for layer in patterns.layers if not layer.areas.empty]
    content.notes += patterns.notes
    grid = grid_layer(store, period, min_count)
    if grid is None:
        content.notes.append(f"{GRID_LAYER}: geen cel met {threshold(min_count)} of meer")
    else:
        content.layers.append(grid)
    return content


def grid_layer(store: Store, period: Period, min_count: int) -> MapLayer | None:
    """Register signals per 500 m cell over 12 months, as the quarter's protection shows them.

    Only cells whose count is shown are drawn; the others (small counts, and counts hidden to
    protect a small count elsewhere) are left out, which the legend says. ``None`` when no cell
    is shown.
    """
    cells = public_grid_counts(store, GRID_SIZE, period, SIGNAL_KINDS, min_count=min_count)
    shown = cells[cells["count"].str.fullmatch(r"[\d.]+")].copy()
    if shown.empty:
        return None
    shown["aantal"] = shown["count"].str.replace(".", "", regex=False).astype(float)
    return MapLayer(GRID_LAYER, shown, "aantal", {"code": "Cel (CBS-raster)",
                                                  "count": "Aantal signalen (12 mnd)"},
                    show=False, legend_title=f"Aantal; cellen met minder dan "
                                             f"{threshold(min_count)}, of ter bescherming "
                                             f"daarvan, niet getekend",
                    palette=COUNT_PALETTE)
