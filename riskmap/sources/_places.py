"""Where records are: coordinates (RD or WGS84, swapped or not), addresses, areas, grid cells.

Records are placed by coordinates when they have them, otherwise by their address in the BAG
table of the store. A point in no buurt is counted (``buiten de gemeente``), never dropped
silently; a point in two overlapping buurten goes to the first and is counted too.

National loads place tens of millions of points, so the hot paths here are vectorised and work
per distinct value where values repeat (postcodes, house numbers, grid cells); each gives
exactly the result of the plain per-row computation, which the tests check.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import Transformer

from riskmap._forked import cores
from riskmap.areatypes import AREA_COLUMN, area_lists
from riskmap.sources._io import arrow_strings, blank, gather, parse_numbers
from riskmap.sources._plain import plain_numbers

log = logging.getLogger(__name__)

RD_X = (0.0, 300_000.0)
RD_Y = (289_000.0, 629_000.0)
LAT = (50.6, 53.7)
LON = (3.2, 7.3)

# Plain numbers of at most nine digits before and after the decimal point or comma, and at most
# fifteen in all: pandas' parser (parse_numbers) and Arrow's then give the same double (with
# seventeen digits they can differ in the last bit)
PLAIN_POINT = r"^[+-]?(\d{1,9}(\.\d{1,6})?|\d{1,6}\.\d{7,9})$"
PLAIN_COMMA = r"^[+-]?(\d{1,9},\d{1,6}|\d{1,6},\d{7,9})$"


@cache
def _to_rd() -> Transformer:
    """WGS84 to RD New (made once, when a file gives WGS84: 30 ms at import otherwise)."""
    return Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True)


def numbers(values: pd.Series) -> pd.Series:
    """:func:`~riskmap.sources._io.parse_numbers`, fast for columns of plain numbers.

    Plain numbers (:data:`PLAIN_POINT`, :data:`PLAIN_COMMA`) are read by the C helper
    (:mod:`riskmap.sources._plain`) where it is built, else by Arrow, and other cells
    without a comma that ``pd.to_numeric`` reads as they are give the same number as
    ``parse_numbers`` by a shorter route; only the other cells go through ``parse_numbers``.
    """
    text = values.astype(str)
    out = np.full(len(values), np.nan)
    rest = np.arange(len(values))
    # the C helper reads both kinds of plain numbers in one pass (_plain.py), as below
    fast = plain_numbers(arrow_strings(text))
    if fast is not None:
        read, is_plain = fast
        out[is_plain] = read[is_plain]
        rest = rest[~is_plain]
    for pattern in (PLAIN_POINT, PLAIN_COMMA) if fast is None else ():
        # read by Arrow as float() does, 10x faster; every row at first: the column as it
        # is, not a copy taken row by row
        arrow = arrow_strings(text if len(rest) == len(values) else text.iloc[rest])
        found = pc.fill_null(pc.match_substring_regex(arrow, pattern), False)
        mask = found.to_numpy(zero_copy_only=False)
        if mask.any():
            plain = arrow.filter(found) if not mask.all() else arrow
            if pattern == PLAIN_COMMA:
                plain = pc.replace_substring(plain, ",", ".")
            out[rest[mask]] = pc.cast(plain, pa.float64()).to_numpy(zero_copy_only=False)
            rest = rest[~mask]
    comma = text.iloc[rest].str.contains(",", regex=False).to_numpy(bool)
    point = rest[~comma]
    out[point] = pd.to_numeric(text.iloc[point], errors="coerce").to_numpy(float)
    other = np.union1d(point[np.isnan(out[point])], rest[comma])
    if other.size:
        out[other] = parse_numbers(values.iloc[other]).to_numpy(float)
    return pd.Series(out, index=values.index)


def _factorized(values: pd.Series) -> tuple[np.ndarray, Any]:
    """``pd.factorize(values, use_na_sentinel=False)``: each value's position among the
    distinct values (missing is one of them), and those. Of text, found by Arrow (ten million
    postcodes in a quarter of the time)."""
    if not isinstance(values.dtype, pd.StringDtype):
        return pd.factorize(values, use_na_sentinel=False)
    encoded = pc.dictionary_encode(arrow_strings(values), null_encoding="encode")
    return encoded.indices.to_numpy(), pd.array(encoded.dictionary, dtype=values.dtype)


def per_values(values: pd.Series,
               function: Callable[[pd.Series], Sequence[pd.Series]]) -> list[pd.Series]:
    """The Series ``function(values)`` gives, computed once per distinct value (for columns
    with many repeats), each with the dtype pandas infers for its values (text as Arrow-backed
    text, taken by Arrow: no Python object per row)."""
    codes, uniques = _factorized(values)
    return [_per_row(result.to_numpy(), codes, values.index)
            for result in function(pd.Series(uniques, dtype=object))]


def _per_row(distinct: np.ndarray, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """The results of the distinct values, one per row (``codes``): numbers, dates and flags
    taken by numpy (pandas' ``take`` of three million dates costs fifteen times as much);
    others by pandas, which infers the same dtype from the distinct results as from the rows,
    as they hold every one (text as Arrow-backed text, taken by Arrow)."""
    if distinct.dtype != object:
        return pd.Series(distinct.take(codes), index=index)
    return pd.Series(distinct).take(codes).set_axis(index)


def per_value(values: pd.Series, function: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``function(values)`` computed once per distinct value (see :func:`per_values`)."""
    return per_values(values, lambda distinct: (function(distinct),))[0]


def coded_per_values(values: pd.Series,
                     function: Callable[[pd.Series], Sequence[pd.Series]]) -> list[pd.Series]:
    """The Series ``function(values)`` gives, of a function whose results are a few distinct
    texts each (missing where it gives none), computed once per distinct value and kept as
    codes (categoricals): no text per row is taken (ten million addresses: 0.3 s)."""
    codes, uniques = _factorized(values)
    out = []
    for result in function(pd.Series(uniques, dtype=object)):
        classes, names = pd.factorize(result.to_numpy(object))
        out.append(pd.Series(_coded(pd.Index(names, dtype="str"), classes[codes]),
                             index=values.index))
    return out


def coded_per_value(values: pd.Series,
                    function: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``function(values)`` kept as codes (see :func:`coded_per_values`)."""
    return coded_per_values(values, lambda distinct: (function(distinct),))[0]


def text_per_value(values: pd.Series, function: Callable[[pd.Series], pd.Series]) -> pa.Array:
    """``function(values)`` of a function that gives text (missing where it gives no text),
    computed once per distinct value, which keeps its dtype, as a large Arrow string array
    taken from the distinct results (no Python object per row)."""
    codes, uniques = _factorized(values)
    result = function(pd.Series(uniques)).to_numpy(object)
    return pa.array(result, pa.large_string(), from_pandas=True).take(pa.array(codes))


def _within(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return (values >= bounds[0]) & (values <= bounds[1])


@dataclass
class Placed:
    """Coordinates in RD New per record and what was done to get them."""

    x: np.ndarray
    y: np.ndarray
    notes: dict[str, int] = field(default_factory=dict)
    # rows whose coordinates are numbers but lie outside the Netherlands in every reading
    outside: np.ndarray | None = None


def coordinates_from_frame(frame: pd.DataFrame) -> Placed:
    """RD New coordinates from ``x_rd``/``y_rd`` or ``lat``/``lon`` columns.

    Swapped RD x/y, lat/lon written in the RD columns, and swapped lat/lon are recognised per row
    and converted; rows with no usable coordinates get NaN (callers may place them by address).
    """
    n = len(frame)
    notes: dict[str, int] = {}
    if {"x_rd", "y_rd"} <= set(frame.columns):
        a = numbers(frame["x_rd"]).to_numpy(float)
        b = numbers(frame["y_rd"]).to_numpy(float)
        rd = _within(a, RD_X) & _within(b, RD_Y)
        x, y = np.where(rd, a, np.nan), np.where(rd, b, np.nan)
        given = ~(np.isnan(a) | np.isnan(b))
        # the other readings only for the (few) rows with numbers that are no RD as they stand
        other = np.flatnonzero(given & ~rd)
        oa, ob = a[other], b[other]
        swapped = _within(ob, RD_X) & _within(oa, RD_Y)
        wgs = ~swapped & _within(oa, LAT) & _within(ob, LON)
        wgs_swapped = ~swapped & ~wgs & _within(oa, LON) & _within(ob, LAT)
        x[other[swapped]], y[other[swapped]] = ob[swapped], oa[swapped]
        # rows in WGS84 to convert, with their latitude and longitude
        convert = other[wgs | wgs_swapped]
        lat = np.where(wgs, oa, ob)[wgs | wgs_swapped]
        lon = np.where(wgs, ob, oa)[wgs | wgs_swapped]
        notes["x/y verwisseld"] = int(swapped.sum())
        notes["lat/lon in RD-kolommen"] = len(convert)
    elif {"lat", "lon"} <= set(frame.columns):
        a = numbers(frame["lat"]).to_numpy(float)
        b = numbers(frame["lon"]).to_numpy(float)
        ok = _within(a, LAT) & _within(b, LON)
        swapped = ~ok & _within(a, LON) & _within(b, LAT)
        convert = np.flatnonzero(ok | swapped)
        lat = np.where(ok, a, b)[convert]
        lon = np.where(ok, b, a)[convert]
        x = np.full(n, np.nan)
        y = np.full(n, np.nan)
        notes["lat/lon verwisseld"] = int(swapped.sum())
        notes["lat/lon omgerekend naar RD"] = len(convert)
        given = ~(np.isnan(a) | np.isnan(b))
    else:
        return Placed(np.full(n, np.nan), np.full(n, np.nan), {"geen coördinaten": n})
    if len(convert):
        x[convert], y[convert] = _to_rd().transform(lon, lat)
    placed = ~np.isnan(x)
    notes["ongeldige coördinaten"] = int((given & ~placed).sum())
    notes["geen coördinaten"] = int((~given).sum())
    return Placed(x, y, {k: v for k, v in notes.items() if v}, given & ~placed)


def _postcodes(values: pd.Series) -> pd.Series:
    """Postcodes without spaces in upper case, ``""`` where blank or not ``9999XX``."""
    postcode = values.astype(str).str.upper().str.replace(" ", "", regex=False)
    return postcode.where(postcode.str.fullmatch(r"\d{4}[A-Z]{2}") & ~blank(values), "")


def _house_numbers(values: pd.Series) -> pd.Series:
    """House numbers as whole-number text, ``""`` where missing or not a number."""
    number = parse_numbers(values)
    return number.fillna(0).astype("int64").astype(str).where(number.notna(), "")


def _key_part(values: pd.Series) -> pd.Series:
    return values.astype(str).str.upper().str.strip()


def address_keys(frame: pd.DataFrame) -> pd.Series:
    """Normalised address keys ``POSTCODE|nummer|letter|toevoeging`` (blank when incomplete)."""
    # the parts as Arrow strings, joined by Arrow: no Python string per address; each part
    # normalised once per distinct value (half a million postcodes for ten million addresses);
    # a part the file lacks (registers often have no huisletter) is empty
    parts = [pc.fill_null(text_per_value(frame[name], normalise), "")
             for name, normalise in (("postcode", _postcodes), ("huisnummer", _house_numbers))]
    parts += [pc.fill_null(text_per_value(frame[name], _key_part), "") if name in frame else
              pa.repeat(pa.scalar("", pa.large_string()), len(frame))
              for name in ("huisletter", "toevoeging")]
    complete = pc.and_(pc.not_equal(parts[0], ""), pc.not_equal(parts[1], ""))
    joined = pc.binary_join_element_wise(*parts, pa.scalar("|", pa.large_string()))
    keys = joined if pc.all(complete).as_py() else \
        pc.if_else(complete, joined, pa.scalar("", pa.large_string()))
    return pd.Series(pd.array(keys, dtype="str"), index=frame.index)


def cell_codes(x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """CBS grid cell codes (``E`` + x hectometres, ``N`` + y hectometres of the lower-left corner).

    A 100 m cell with lower-left corner (155300, 463200) is ``E1553N4632``; 500 m cells are named
    the same way after their lower-left corner. NaN coordinates give ``None``.
    """
    index, names = _cells(x, y, size)
    return names.take(pa.array(index, mask=index < 0)).to_numpy(zero_copy_only=False)


def _cells(x: np.ndarray, y: np.ndarray, size: int) -> tuple[np.ndarray, pa.Array]:
    """Per point the row of its cell's code in the codes returned (-1 for NaN coordinates):
    cells stay numbers until each distinct one is named, once."""
    ok = ~(np.isnan(x) | np.isnan(y))
    every = bool(ok.all())
    x, y = (x, y) if every else (x[ok], y[ok])
    if size % 100 == 0:  # hectometres of the lower-left corner, in integers
        ex = np.floor(x / size).astype(np.int64) * (size // 100)
        ny = np.floor(y / size).astype(np.int64) * (size // 100)
    else:
        ex = (np.floor(x / size) * size // 100).astype(np.int64)
        ny = (np.floor(y / size) * size // 100).astype(np.int64)
    if not ex.size:
        return np.full(len(ok), -1, dtype=np.int64), pa.array([], pa.string())
    low, span = ny.min(), int(ny.max() - ny.min()) + 1
    positions, cells = _distinct_keys(ex * span + (ny - low))
    if every:
        index = positions
    else:
        index = np.full(len(ok), -1, dtype=np.int64)
        index[ok] = positions
    east, north = cells // span, cells % span + low
    if east.min() >= 0 and north.min() >= 0:  # as in the Netherlands: named by Arrow
        def padded(values: np.ndarray) -> pa.Array:
            return pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), 4, "0")
        return index, pc.binary_join_element_wise("E", padded(east), "N", padded(north), "")
    return index, pa.array([f"E{a:04d}N{b:04d}" for a, b in zip(east.tolist(), north.tolist(),
                                                              strict=True)], pa.string())


def _distinct_keys(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each key's position among the distinct keys, and those keys (ascending). Keys within a
    range of up to eight times their number (a country's grid cells, for millions of points)
    are marked in an array of that range instead of hashed: ten million points' 500 m cells
    named in 0.58 s instead of 1.07, three million points' 100 m cells (a range of 8.3 million)
    0.10 s instead of 0.46. Hashing is cheaper for fewer points (300,000: 0.02 against 0.05 s;
    the two cross at about eight)."""
    first = int(key.min())
    extent = int(key.max()) - first + 1
    if extent > max(8 * len(key), 1 << 20):
        positions, distinct = pd.factorize(key, sort=True)
        return positions, distinct
    offset = key - first
    present = np.zeros(extent, dtype=bool)
    present[offset] = True
    rank = np.cumsum(present, dtype=np.int32 if extent < 2**31 else np.int64) - 1
    return rank[offset], np.flatnonzero(present) + first


def _categories(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each value's position among the distinct values (-1 where missing), and those values
    as text."""
    positions, names = pd.factorize(values.astype("str"))
    return positions, pd.Index(pd.array(names, dtype="str"))


def _at_rows(of_row: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``of_row[rows]``, -1 where a row is -1 (a point in no polygon)."""
    found = np.full(len(rows), -1, dtype=np.int64)
    hit = rows >= 0
    found[hit] = of_row[rows[hit]]
    return found


def _coded(names: pd.Index | pa.Array, index: np.ndarray) -> pd.Categorical:
    """``names[index]`` (missing where ``index`` is negative) kept as integer codes: an area or
    cell code becomes text once per distinct code, when the store is written (ten million
    points, a few thousand buurten)."""
    if isinstance(names, pa.Array):
        names = pd.Index(pd.array(names, dtype="str"))
    return pd.Categorical.from_codes(index, categories=names)


# Below this many points a lookup goes straight to the STRtree (building the raster costs more).
RASTER_MIN_POINTS = 200_000
RASTER_MAX_CELLS = 2**25
# Cells no smaller than this (metres, a power of two): finer cells only make the raster larger
# and slower to build. A gemeente of 10 by 12 km: 2 m cells took 1.2-1.7 s to build and 16 m
# cells 0.06 s, with 5 % of its addresses tested exactly; nationally the cells are 64 m.
RASTER_MIN_CELL = 16.0
PARALLEL_CHUNK = 100_000
EXACT_CHUNK = 500_000
_NONE, _EXACT = -1, -2
# Rasters built, by the digest of their polygons: the loads of a project place their points in
# the same buurten, and a national raster takes 2-2.5 s to build. At most RASTERS_KEPT are kept
# in a process (~80 MB each) and in a project's cache folder (compressed: ~3 MB nationally, read
# in 0.15 s). RASTER_FORMAT changes when a raster of the same polygons would come out otherwise.
RASTERS_KEPT = 4
RASTER_FORMAT = 3
_RASTERS: dict[bytes, Raster] = {}
_POINT, _LINESTRING, _LINEARRING, _POLYGON = 0, 1, 2, 3


@dataclass(frozen=True)
class Raster:
    """A raster of region labels over polygons (see :class:`PolygonLookup`).

    ``labels`` per cell: the polygon (index) every point of the cell lies in, ``-1`` for none,
    or ``-2 - k`` for the ``k``-th cell whose points are tested exactly (an edge touches it, or
    two polygons overlap there); the polygons whose bounding box meets each such cell are its
    candidates (compressed rows: ``indptr``, ``indices``)."""

    labels: np.ndarray
    cell: float
    origin: tuple[float, float]
    indptr: np.ndarray
    indices: np.ndarray


def _intersects_xy(test: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """``shapely.intersects_xy`` of polygons and coordinates, pair by pair."""
    return shapely.intersects_xy(*test)


def _query(tree: shapely.STRtree, points: np.ndarray) -> np.ndarray:
    """``tree.query(points, predicate="intersects")``, in chunks on every core for many points
    (the query releases the GIL)."""
    workers = min(cores(), len(points) // PARALLEL_CHUNK)
    if workers < 2:
        return tree.query(points, predicate="intersects")
    bounds = np.linspace(0, len(points), workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(lambda a, b: tree.query(points[a:b], predicate="intersects")
                              + np.array([[a], [0]]), bounds[:-1], bounds[1:]))
    return np.concatenate(parts, axis=1)


def _first_hit(tree: shapely.STRtree, points: np.ndarray) -> tuple[np.ndarray, int]:
    """Index of the first (lowest-index) geometry each point intersects (-1: none), and the
    number of further hits."""
    point_idx, area_idx = _query(tree, points)
    hit = np.full(len(points), -1, dtype=np.int64)
    if not len(point_idx):
        return hit, 0
    # the query gives each point's hits together, in the points' order (checked: then no sort
    # of millions of pairs is needed), the tree's indices in no set order
    if not (point_idx[1:] >= point_idx[:-1]).all():
        order = np.argsort(point_idx, kind="stable")
        point_idx, area_idx = point_idx[order], area_idx[order]
    starts = np.flatnonzero(np.r_[True, point_idx[1:] != point_idx[:-1]])
    hit[point_idx[starts]] = np.minimum.reduceat(area_idx, starts)
    return hit, len(point_idx) - len(starts)


def _linear_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rings and lines of the geometries (their edges), and their isolated points."""
    parts = shapely.get_parts(geoms)
    while (shapely.get_type_id(parts) > _POLYGON).any():
        parts = shapely.get_parts(parts)
    kind = shapely.get_type_id(parts)
    rings = shapely.get_rings(parts[kind == _POLYGON])
    lines = np.concatenate([rings, parts[(kind == _LINESTRING) | (kind == _LINEARRING)]])
    return lines, parts[kind == _POINT]


class PolygonLookup:
    """The first polygon (lowest index) each point intersects, as ``STRtree.query`` gives it.

    For many points, a raster answers most of them: a cell that no polygon edge touches lies, for
    every polygon, wholly inside or wholly outside it, and so does every cell connected to it
    through such cells, so one exact test per connected region labels all its cells. Points in
    cells an edge touches, or in regions inside two overlapping polygons, are tested exactly
    against the polygons whose bounding box meets their cell (listed when the raster is built),
    by coordinates against prepared polygons: no point objects are made, which took as long as
    the tests themselves. Cell sides are powers of two, so a point's cell is found without
    rounding.
    """

    def __init__(self, geoms: np.ndarray, min_points: int = RASTER_MIN_POINTS,
                 max_cells: int = RASTER_MAX_CELLS, cache: Path | None = None) -> None:
        self.geoms = geoms
        self.tree = shapely.STRtree(geoms)
        self.min_points = min_points
        self.max_cells = max_cells
        self.cache = cache  # folder where rasters are kept between processes (None: not kept)
        self._raster: Raster | None = None
        self._cell = 1.0
        self._origin = (0.0, 0.0)

    def first_hit(self, x: np.ndarray, y: np.ndarray,
                  points: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Polygon index per point (-1: in none) and the number of second (and later) hits
        (``points``: the points of ``x``, ``y`` already made, for a lookup without raster)."""
        if len(x) < self.min_points or not len(self.geoms):
            return _first_hit(self.tree, shapely.points(x, y) if points is None else points)
        labels = self._cell_labels(x, y)
        exact = np.flatnonzero(labels <= _EXACT)
        hit, extra = self._exact_hits(x[exact], y[exact], _EXACT - labels[exact])
        labels[exact] = hit
        return labels, extra

    def _exact_hits(self, x: np.ndarray, y: np.ndarray,
                    cells: np.ndarray) -> tuple[np.ndarray, int]:
        """:func:`_first_hit` of the points ``x, y`` in the exactly tested ``cells``: each is
        tested against its cell's candidate polygons (prepared, so each test is a search of the
        polygon's indexed edges), by coordinates (no point objects), on every core.

        A prepared polygon builds its index when it is first used, which is not safe in two
        threads at once (GEOS, libgeos/geos#825: a heap corrupted now and then): the threads
        test disjoint sets of polygons (by their number), chunk by chunk."""
        assert self._raster is not None
        indptr, indices = self._raster.indptr, self._raster.indices
        shapely.prepare(self.geoms)
        workers = max(1, min(cores(), len(x) // PARALLEL_CHUNK))
        hit = np.full(len(x), -1, dtype=np.int64)
        extra = 0
        with ThreadPoolExecutor(workers) as pool:
            # at most EXACT_CHUNK points at a time: a point has a few candidates, each a pair
            for a in range(0, len(x), EXACT_CHUNK):
                b = min(a + EXACT_CHUNK, len(x))
                polygon, point = gather(indptr, indices, cells[a:b])  # by point
                point += a
                shares = [np.flatnonzero(polygon % workers == k) for k in range(workers)]
                tests = [(self.geoms[polygon[share]], x[point[share]], y[point[share]])
                         for share in shares]
                inside = np.zeros(len(polygon), dtype=bool)
                for share, found in zip(shares, pool.map(_intersects_xy, tests), strict=True):
                    inside[share] = found
                point, polygon = point[inside], polygon[inside]
                if len(point):
                    first = np.flatnonzero(np.r_[True, point[1:] != point[:-1]])
                    hit[point[first]] = np.minimum.reduceat(polygon, first)
                    extra += len(point) - len(first)
        return hit, extra

    def _cell_labels(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raster = (self._raster if self._raster is not None else self._build()).labels
        rows, columns = raster.shape
        # the cell side is a power of two: multiplying by its inverse is dividing by it, and the
        # origin is a whole number of cells, so a point's column is floor(x / cell) - origin,
        # here truncated where it is not negative (in place, without boolean selections: a
        # third of the time for ten million points)
        with np.errstate(invalid="ignore"):
            fx = x * (1.0 / self._cell)
            fx -= self._origin[0]
            fy = y * (1.0 / self._cell)
            fy -= self._origin[1]
            on = (fx >= 0) & (fx < columns) & (fy >= 0) & (fy < rows)  # NaN: off
        flat = np.where(on, fy, 0).astype(np.int64)
        flat *= columns
        flat += np.where(on, fx, 0).astype(np.int64)
        labels = raster.ravel()[flat].astype(np.int64)
        labels[~on] = _NONE
        return labels

    def _build(self) -> Raster:
        """The raster (built once for the same polygons, see :data:`_RASTERS`)."""
        digest = hashlib.sha256(b"".join([f"{RASTER_FORMAT} {self.max_cells}".encode(),
                                          *shapely.to_wkb(self.geoms)])).digest()
        if digest not in _RASTERS:
            while len(_RASTERS) >= RASTERS_KEPT:
                del _RASTERS[next(iter(_RASTERS))]
            path = None if self.cache is None else self.cache / f"raster-{digest.hex()[:32]}.npz"
            found = None if path is None else read_raster(path)
            _RASTERS[digest] = found or self._built()
            if path is not None and found is None:
                write_raster(path, _RASTERS[digest])
        self._raster = _RASTERS[digest]
        self._cell, self._origin = self._raster.cell, self._raster.origin
        return self._raster

    def _built(self) -> Raster:
        """The raster of region labels, its cell side and origin (in cells), and the candidate
        polygons of the cells tested exactly."""
        minx, miny, maxx, maxy = shapely.total_bounds(self.geoms)
        cell = max(2.0 ** np.ceil(np.log2(max(maxx - minx, maxy - miny, 1e-6) / 4096)),
                   RASTER_MIN_CELL)
        while cell / 2 >= RASTER_MIN_CELL and (np.floor(maxx / cell) - np.floor(minx / cell) + 1) * \
                (np.floor(maxy / cell) - np.floor(miny / cell) + 1) * 4 <= self.max_cells:
            cell /= 2
        self._cell = float(cell)
        self._origin = (float(np.floor(minx / cell)), float(np.floor(miny / cell)))
        shape = (int(np.floor(maxy / cell) - self._origin[1]) + 1,
                 int(np.floor(maxx / cell) - self._origin[0]) + 1)
        from scipy import ndimage  # noqa: PLC0415 - scipy only when a raster is built

        regions, count = ndimage.label(~self._touched(shape))
        raster = self._region_labels(regions, count)[regions]
        del regions
        exact = np.flatnonzero(raster.ravel() == _EXACT)
        raster.ravel()[exact] = _EXACT - np.arange(len(exact), dtype=np.int32)
        raster.flags.writeable = False  # shared by every lookup of the same polygons
        iy, ix = np.divmod(exact, shape[1])
        boxes = shapely.box((ix + self._origin[0]) * cell, (iy + self._origin[1]) * cell,
                            (ix + self._origin[0] + 1) * cell, (iy + self._origin[1] + 1) * cell)
        which, polygon = self.tree.query(boxes)  # a point's polygon meets its (closed) cell
        if not (which[1:] >= which[:-1]).all():  # the query gives each box's hits together
            order = np.argsort(which, kind="stable")
            which, polygon = which[order], polygon[order]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(which, minlength=len(exact)))])
        return Raster(raster, self._cell, self._origin, indptr, polygon.astype(np.int32))

    def _touched(self, shape: tuple[int, int]) -> np.ndarray:
        """Cells (closed squares) that an edge or isolated point of a polygon may touch.

        Edges are cut into pieces of at most half a cell; each piece's bounding box (widened by
        a micrometre against rounding) touches at most 2 x 2 cells, all of which are marked.
        """
        lines, points = _linear_parts(self.geoms)
        coords, which = shapely.get_coordinates(lines, return_index=True)
        same = which[1:] == which[:-1]
        start, end = coords[:-1][same], coords[1:][same]
        lone = shapely.get_coordinates(points)
        start, end = np.concatenate([start, lone]), np.concatenate([end, lone])
        pieces = np.maximum(1, np.ceil(np.hypot(*(end - start).T) / (self._cell / 2))).astype(int)
        segment = np.repeat(np.arange(len(start)), pieces)
        step = np.arange(len(segment)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        t0, t1 = step / pieces[segment], (step + 1) / pieces[segment]
        delta = (end - start)[segment]
        a = start[segment] + t0[:, None] * delta
        b = start[segment] + t1[:, None] * delta
        low = np.ceil((np.minimum(a, b) - 1e-6) / self._cell) - 1 - self._origin
        high = np.floor((np.maximum(a, b) + 1e-6) / self._cell) - self._origin
        touched = np.zeros(shape, dtype=bool)
        for dx in (0, 1):
            for dy in (0, 1):
                ix = np.minimum(low[:, 0] + dx, high[:, 0]).clip(0, shape[1] - 1).astype(np.int64)
                iy = np.minimum(low[:, 1] + dy, high[:, 1]).clip(0, shape[0] - 1).astype(np.int64)
                touched[iy, ix] = True
        return touched

    def _region_labels(self, regions: np.ndarray, count: int) -> np.ndarray:
        """The label of each connected region (region 0, the touched cells, is tested exactly);
        a region's label is that of any one of its cells' centres."""
        flat = regions.ravel()
        cell_of = np.zeros(count + 1, dtype=np.int64)
        cell_of[flat] = np.arange(flat.size)
        iy, ix = np.divmod(cell_of[1:], regions.shape[1])
        centres = shapely.points((ix + self._origin[0] + 0.5) * self._cell,
                                 (iy + self._origin[1] + 0.5) * self._cell)
        pairs = self.tree.query(centres, predicate="intersects")
        hits = np.bincount(pairs[0], minlength=count)
        labels = np.full(count + 1, _EXACT, dtype=np.int32)
        labels[1:][hits == 0] = _NONE
        single = hits[pairs[0]] == 1
        labels[1 + pairs[0][single]] = pairs[1][single]
        return labels


def read_raster(path: Path) -> Raster | None:
    """A raster kept by :func:`write_raster` (``None`` when there is none, or it cannot be read:
    then it is built again)."""
    try:
        with np.load(path) as kept:
            labels = kept["labels"].astype(np.int32)
            exact = np.cumsum(kept["steps"], dtype=np.int64)
            cell, origin_x, origin_y = (float(v) for v in kept["where"])
            indptr = np.concatenate([[0], np.cumsum(kept["sizes"], dtype=np.int64)])
            indices = kept["indices"].astype(np.int32)
        labels.ravel()[exact] = _EXACT - np.arange(len(exact), dtype=np.int32)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        log.info("raster %s niet te lezen (%s): wordt opnieuw gemaakt", path, exc)
        return None
    labels.flags.writeable = False
    return Raster(labels, cell, (origin_x, origin_y), indptr, indices)


def _small(values: np.ndarray) -> np.ndarray:
    """Integers as 16-bit where they fit (half the bytes to compress)."""
    fits = values.min(initial=0) >= -2**15 and values.max(initial=0) < 2**15
    return values.astype(np.int16) if fits else values


def write_raster(path: Path, raster: Raster) -> None:
    """Keep a raster in ``path`` (compressed; written whole or not at all), and at most
    :data:`RASTERS_KEPT` rasters in its folder (the least recently written go)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        # the cells tested exactly as one label, their places and candidates' numbers as steps
        # and sizes (small numbers), compressed fast: 1.0 -> 0.2 s nationally, 3 MB
        exact = np.flatnonzero(raster.labels.ravel() <= _EXACT)
        labels = np.maximum(raster.labels, _EXACT)
        arrays = {"labels": _small(labels), "steps": np.diff(exact, prepend=0).astype(np.int32),
                  "sizes": _small(np.diff(raster.indptr)), "indices": raster.indices,
                  "where": np.array([raster.cell, *raster.origin])}
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
            for name, array in arrays.items():  # as numpy's savez writes them
                with out.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
        partial.replace(path)
        kept = sorted(path.parent.glob("raster-*.npz"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-RASTERS_KEPT]:
            old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only project still loads, building the raster each time
        log.info("raster niet bewaard in %s (%s)", path.parent, exc)


class AreaIndex:
    """Assigns points to buurten (and their wijk), analysis areas and grid cells.

    ``analysis_areas`` maps an area type (:mod:`riskmap.areatypes`) to its polygons (with a
    ``code`` column); each point gets the list of the areas it lies in, at most one per type.
    """

    def __init__(self, buurten: gpd.GeoDataFrame,
                 analysis_areas: Mapping[str, gpd.GeoDataFrame] | None = None,
                 grid_sizes: tuple[int, ...] = (100, 500),
                 raster_min_points: int = RASTER_MIN_POINTS, cache: Path | None = None) -> None:
        self._buurt_of_row, self._buurt_codes = _categories(buurten["code"])
        self._wijk_of_row, self._wijk_codes = _categories(buurten["wijk"])
        self._buurten = PolygonLookup(buurten.geometry.values, raster_min_points, cache=cache)
        self._areas = {key: (frame["code"].to_numpy(object),
                             PolygonLookup(frame.geometry.values, raster_min_points, cache=cache))
                       for key, frame in (analysis_areas or {}).items()
                       if frame is not None and not frame.empty}
        self.grid_sizes = grid_sizes

    def prepared(self) -> AreaIndex:
        """This index with the raster of its buurten made (or read from the cache): for a
        caller that makes it while it reads a large file, before it has the points."""
        self._buurten._build()
        return self

    def buurt_index(self, x: np.ndarray, y: np.ndarray,
                    points: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Row of the buurt each point is in (-1: none; the first of two overlapping buurten),
        and the number of points counted in a second buurt."""
        return self._buurten.first_hit(np.asarray(x, float), np.asarray(y, float), points)

    def assign(self, x: np.ndarray, y: np.ndarray,
               sizes: Collection[int] | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
        """Area codes per point, and counts of points outside any buurt or in two; the grid
        cells of ``sizes`` only (default: every size of the grid; the others are missing)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        # below the raster's size, every lookup tests the points themselves: made once
        points = shapely.points(x, y) if len(x) < self._buurten.min_points else None
        buurt_idx, in_two = self.buurt_index(x, y, points)
        inside = buurt_idx >= 0
        out = pd.DataFrame({
            "buurt": _coded(self._buurt_codes, _at_rows(self._buurt_of_row, buurt_idx)),
            "wijk": _coded(self._wijk_codes, _at_rows(self._wijk_of_row, buurt_idx))})
        found = {}
        for key, (codes, lookup) in self._areas.items():
            idx, _ = lookup.first_hit(x, y, points)
            found[key] = np.where(idx >= 0, codes[idx.clip(0)], None)
        # an object column as it is (pandas would look at each of ten million entries)
        out[AREA_COLUMN] = pd.Series(area_lists(found, len(x)), index=out.index, dtype=object,
                                     copy=False)
        for size in (100, 500):
            if size in self.grid_sizes and (sizes is None or size in sizes):
                index, codes = _cells(x, y, size)
                out[f"cell{size}"] = _coded(codes, index)
            else:  # no cell: codes without categories (a None per point cost 0.2 s)
                out[f"cell{size}"] = _coded(pd.Index([], dtype="str"),
                                            np.full(len(x), -1, dtype=np.int8))
        has_xy = ~(np.isnan(x) | np.isnan(y))
        stats = {"buiten de gemeente": int((has_xy & ~inside).sum()),
                 "in twee buurten (eerste gekozen)": in_two}
        return out, {k: v for k, v in stats.items() if v}
