"""What the hotspot statistics run on: a variable per area (or grid cell) and quarter.

On buurten and wijken the variable is a score (``totaal``, the default, or a theme) or an
indicator, read from the built quarter in the store. On the grid (``grid100``, ``grid500``) it
is a count of register events per cell in the 12 months ending with the quarter: ``signalen``
(the default: every register kind except controles, which follow enforcement choices rather
than signals) or one event kind.

Why ``totaal`` by default: it is the figure analysts rank and map, so a hotspot of it answers
"where does high overall risk cluster"; it is intensive (built from rates and shares), so large
buurten do not stand out by size, as they would with counts; and it combines every source, so
it is less noisy than any single indicator. Buurten without a score (too few inhabitants for
half the theme weight) are left out of the analysis and reported.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from riskmap.errors import InputError, StoreError
from riskmap.indicators.build import OVERALL
from riskmap.models.choices import GRID_LEVELS, LEVELS
from riskmap.models.grid import EVENT_KINDS, event_counts, grid_from_boundaries
from riskmap.periods import Period
from riskmap.store import Store

SIGNALS = "signalen"
SIGNAL_KINDS = tuple(k for k in EVENT_KINDS if k != "controles")


def check_level(level: str) -> str:
    """Return ``level`` if hotspots can run on it, else raise :class:`InputError`."""
    if level not in LEVELS:
        raise InputError(f"niveau {level!r} onbekend voor hotspots; kies uit "
                         f"{{{', '.join(LEVELS)}}}")
    return level


def default_variable(level: str) -> str:
    """``totaal`` on buurten and wijken, ``signalen`` on the grid."""
    return SIGNALS if check_level(level) in GRID_LEVELS else OVERALL


def level_areas(store: Store, level: str) -> gpd.GeoDataFrame:
    """Codes and geometries of the areas (latest boundary year) or grid cells of ``level``."""
    check_level(level)
    store.require_areas("buurt")
    year = store.scalar("SELECT max(year) FROM areas WHERE level = 'buurt'")
    if level in GRID_LEVELS:
        return grid_from_boundaries(store.areas("buurt", year), GRID_LEVELS[level])
    areas = store.areas(level, store.scalar("SELECT max(year) FROM areas WHERE level = ?",
                                            [level]))
    if areas.empty:
        raise StoreError(f"{store.path}: geen grenzen van niveau {level} geladen; laad ze met "
                         f"`riskmap load boundaries`")
    return areas[["code", "name", "wijk", "geometry"]].reset_index(drop=True)


def variable_values(store: Store, level: str, period: Period, variable: str,
                    codes: pd.Index) -> pd.Series:
    """The variable per area code (``codes``, in that order); NaN where an area has none."""
    check_level(level)
    if level in GRID_LEVELS:
        kinds = SIGNAL_KINDS if variable == SIGNALS else (variable,)
        if variable != SIGNALS and variable not in EVENT_KINDS:
            raise InputError(f"variabele {variable!r} onbekend op het raster; kies uit "
                             f"{{{', '.join((SIGNALS, *EVENT_KINDS))}}}")
        counts = event_counts(store, GRID_LEVELS[level], period, kinds)
        return counts.reindex(codes).fillna(0.0).rename(variable)
    if not store.scalar("SELECT count(*) FROM scores WHERE period = ? AND level = ?",
                        [str(period), level]):
        raise StoreError(f"{store.path}: {period} is niet berekend voor {level}; draai eerst "
                         f"`riskmap kwartaal --period {period}`")
    frame = store.query("SELECT area_code, score AS value FROM scores WHERE period = ? AND "
                        "level = ? AND theme = ?", [str(period), level, variable])
    if frame.empty:
        frame = store.query("SELECT area_code, value FROM indicator_values WHERE period = ? "
                            "AND level = ? AND indicator = ?", [str(period), level, variable])
    if frame.empty:
        raise InputError(f"variabele {variable!r} onbekend voor {level} in {period}; kies "
                         f"{OVERALL}, een thema of een indicator: "
                         f"{', '.join(_choices(store, level, period))}")
    return frame.set_index("area_code")["value"].reindex(codes).astype(float).rename(variable)


def _choices(store: Store, level: str, period: Period) -> list[str]:
    themes = store.query("SELECT DISTINCT theme AS name FROM scores WHERE period = ? AND "
                         "level = ? ORDER BY 1", [str(period), level])["name"].tolist()
    indicators = store.query("SELECT DISTINCT indicator AS name FROM indicator_values WHERE "
                             "period = ? AND level = ? ORDER BY 1",
                             [str(period), level])["name"].tolist()
    return themes + indicators
