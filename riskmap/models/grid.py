"""A square grid aligned with CBS's (100 m and 500 m cells in RD New), and counts per cell.

CBS names a cell after its lower-left corner in hectometres: the 100 m cell with corner
(155300, 463200) is ``E1553N4632``; a 500 m cell is named the same way after its corner, which
lies on multiples of 500 m. Records carry the codes of their 100 m and 500 m cells from the
moment they are loaded (``cell100``, ``cell500``), so counting needs no coordinates; register
events keep only their 500 m cell (and controles none), since a 100 m cell often holds a
single address.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.config import GRID_KINDS
from riskmap.errors import InputError, PrivacyError
from riskmap.fmt import integer
from riskmap.indicators.privacy import SMALL_COUNT, hidden_text
from riskmap.indicators.release import GRID, GRID_SIZE
from riskmap.periods import Period
from riskmap.sources._places import cell_codes
from riskmap.store import CRS, Store

log = logging.getLogger(__name__)

SIZES = (100, 500)
EVENT_CELL_SIZES = (500,)  # the only cell size register events keep (riskmap.sources._records)
EVENT_KINDS = ("meldingen", "maatregelen", "bibob", "hennep", "controles")
_CODE = re.compile(r"^E(\d{4})N(\d{4})$")


def check_size(size: int) -> int:
    """Return ``size`` if it is a CBS cell size, else raise :class:`InputError`."""
    if size not in SIZES:
        raise InputError(f"celgrootte {size!r} onbekend; kies uit {{{', '.join(map(str, SIZES))}}}")
    return size


def cell_code(x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """CBS codes of the ``size`` m cells holding points ``(x, y)`` (RD New metres)."""
    check_size(size)
    return cell_codes(np.asarray(x, float), np.asarray(y, float), size)


def cell_polygons(codes: pd.Series | list[str], size: int) -> gpd.GeoSeries:
    """Square polygons of cells given by CBS code."""
    check_size(size)
    codes = pd.Series(codes, dtype=object)
    parts = codes.str.extract(_CODE)
    if parts.isna().any(axis=None):
        bad = codes[parts.isna().any(axis=1)].iloc[0]
        raise InputError(f"celcode {bad!r} is geen CBS-code zoals E1553N4632")
    east = parts[0].astype(float).to_numpy() * 100
    north = parts[1].astype(float).to_numpy() * 100
    return gpd.GeoSeries(shapely.box(east, north, east + size, north + size),
                         index=codes.index, crs=CRS)


def grid_from_boundaries(boundaries: gpd.GeoDataFrame | gpd.GeoSeries, size: int) -> gpd.GeoDataFrame:
    """All ``size`` m cells, aligned with CBS's grid, that intersect ``boundaries``.

    Parameters
    ----------
    boundaries
        Polygons in EPSG:28992 (for instance the gemeente, or its buurten).
    size
        Cell size in metres, ``{100, 500}``.

    Returns
    -------
    gpd.GeoDataFrame
        ``code`` and square ``geometry`` per cell, in EPSG:28992.
    """
    check_size(size)
    if boundaries.crs is None or boundaries.crs != CRS:
        raise InputError(f"de grenzen zijn in {boundaries.crs}; het CBS-raster vraagt {CRS}")
    shape = shapely.union_all(np.asarray(boundaries.geometry.values))
    if shape.is_empty:
        raise InputError("de grenzen zijn leeg: geen raster te maken")
    minx, miny, maxx, maxy = shape.bounds
    xs = np.arange(np.floor(minx / size) * size, maxx, size)
    ys = np.arange(np.floor(miny / size) * size, maxy, size)
    east, north = (a.ravel() for a in np.meshgrid(xs, ys))
    boxes = shapely.box(east, north, east + size, north + size)
    shapely.prepare(shape)
    # a cell is kept where it shares more than its border with the buurten: those well inside
    # are found fast on the prepared shape; only the others are tested for touching alone
    keep = shapely.contains_properly(shape, boxes)
    edge = np.flatnonzero(~keep & shapely.intersects(shape, boxes))
    keep[edge] = ~shapely.touches(shape, boxes[edge])
    codes = cell_code(east[keep] + size / 2, north[keep] + size / 2, size)
    log.debug("grid of %d cells of %d m over %.0f ha", int(keep.sum()), size,
              shape.area / 10_000)
    return gpd.GeoDataFrame({"code": codes}, geometry=boxes[keep], crs=CRS)


def event_counts(store: Store, size: int, period: Period, kinds: Sequence[str] | None = None,
                 months: int = 12) -> pd.Series:
    """Register events of ``kinds`` (default: all) per ``size`` m cell in the ``months`` ending
    with ``period``. Events without a cell (no coordinates, no known address) are logged."""
    if check_size(size) not in EVENT_CELL_SIZES:
        raise InputError(f"registergebeurtenissen bewaren geen cel van {size} m (dataminimalisatie: die "
                         f"zou adressen herkenbaar maken); gebruik cellen van {EVENT_CELL_SIZES[0]} m")
    unknown = [k for k in kinds or () if k not in EVENT_KINDS]
    if unknown:
        raise InputError(f"soort gebeurtenis {unknown[0]!r} onbekend; kies uit "
                         f"{{{', '.join(EVENT_KINDS)}}}")
    first, last = period.window(months)
    clauses = ["date BETWEEN ? AND ?"]
    params: list[Any] = [first, last]
    if kinds:
        clauses.append(f"kind IN ({', '.join('?' * len(kinds))})")
        params.extend(kinds)
    frame = store.query(f"SELECT cell{size} AS code, count(*) AS n FROM events WHERE "
                        f"{' AND '.join(clauses)} GROUP BY ALL", params)
    unplaced = frame.loc[frame["code"].isna(), "n"].sum()
    if unplaced:
        log.info("%s gebeurtenissen zonder cel van %d m niet geteld", integer(unplaced), size)
    return frame.dropna(subset=["code"]).set_index("code")["n"].astype(float).rename("count")


def grid_counts(store: Store, size: int, period: Period, kinds: Sequence[str] | None = None,
                months: int = 12) -> gpd.GeoDataFrame:
    """The gemeente's grid with the number of events per cell (zero where there are none).

    Counts are exact: this frame stays inside the analysis. Use :func:`public_grid_counts`
    for anything that is shown.
    """
    store.require_areas("buurt")
    year = store.scalar("SELECT max(year) FROM areas WHERE level = 'buurt'")
    grid = grid_from_boundaries(store.areas("buurt", year), size)
    counts = event_counts(store, size, period, kinds, months)
    outside = counts.index.difference(pd.Index(grid["code"]))
    if len(outside):
        log.info("%s gebeurtenissen in %s cellen buiten het raster van de buurten niet geteld",
                 integer(counts.loc[outside].sum()), integer(len(outside)))
    grid["count"] = counts.reindex(grid["code"]).fillna(0).to_numpy()
    return grid


def public_grid_counts(store: Store, size: int, period: Period,
                       kinds: Sequence[str] | None = None, months: int = 12,
                       min_count: int = 5) -> gpd.GeoDataFrame:
    """The published grid (500 m cells, register signals, 12 months) as the quarter's
    protection shows it: ``count`` is the number where shown, ``<5`` for a small count and
    ``–`` where the number would reveal a small count elsewhere.

    Other sizes, kinds or windows were not protected with the quarter's release and are
    refused (:class:`PrivacyError`); the API gives them only as raw values, on request.
    """
    if size != GRID_SIZE or set(kinds or GRID_KINDS) != set(GRID_KINDS) or months != 12:
        raise PrivacyError(f"raster van {size} m ({', '.join(kinds or GRID_KINDS)}, {months} "
                           f"maanden) is niet beschermd gepubliceerd; alleen 500 m, signalen, "
                           f"12 maanden (andere rasters alleen als ruwe waarden, raw=True)")
    grid = grid_counts(store, size, period, GRID_KINDS, months)
    status = store.query("SELECT area_code, shown, reason FROM released_cells WHERE period = ? "
                         "AND series = ? AND grouping = 'raster500'", [str(period), GRID])
    if status.empty:
        log.warning("%s: geen bescherming opgeslagen voor %s; bereken het kwartaal opnieuw (riskmap "
                    "build --period %s) om het raster te tonen", store.path, period, period)
    status = status.set_index("area_code")
    shown = grid["code"].map(status["shown"]).fillna(False).astype(bool)
    # a cell not in the release had no signal to protect: below the minimum (an index lookup,
    # not isin, which makes a Python scalar of every released cell's code)
    released = status.index.get_indexer(grid["code"]) >= 0
    reason = grid["code"].map(status["reason"]).where(released, SMALL_COUNT)
    grid["count"] = [integer(n) if ok else hidden_text(why, min_count)
                     for n, ok, why in zip(grid["count"], shown, reason, strict=True)]
    return grid
