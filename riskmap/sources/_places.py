"""Where records are: coordinates (RD or WGS84, swapped or not), addresses, areas, grid cells.

Records are placed by coordinates when they have them, otherwise by their address in the BAG
table of the store. A point in no buurt is counted (``buiten de gemeente``), never dropped
silently; a point in two overlapping buurten goes to the first and is counted too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from riskmap.sources._io import blank, parse_numbers

RD_X = (0.0, 300_000.0)
RD_Y = (289_000.0, 629_000.0)
LAT = (50.6, 53.7)
LON = (3.2, 7.3)

_TO_RD = Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True)


def _within(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return (values >= bounds[0]) & (values <= bounds[1])


@dataclass
class Placed:
    """Coordinates in RD New per record and what was done to get them."""

    x: np.ndarray
    y: np.ndarray
    notes: dict[str, int] = field(default_factory=dict)


def coordinates_from_frame(frame: pd.DataFrame) -> Placed:
    """RD New coordinates from ``x_rd``/``y_rd`` or ``lat``/``lon`` columns.

    Swapped RD x/y, lat/lon written in the RD columns, and swapped lat/lon are recognised per row
    and converted; rows with no usable coordinates get NaN (callers may place them by address).
    """
    n = len(frame)
    notes: dict[str, int] = {}
    if {"x_rd", "y_rd"} <= set(frame.columns):
        a = parse_numbers(frame["x_rd"]).to_numpy(float)
        b = parse_numbers(frame["y_rd"]).to_numpy(float)
        rd = _within(a, RD_X) & _within(b, RD_Y)
        swapped = ~rd & _within(b, RD_X) & _within(a, RD_Y)
        wgs = ~rd & ~swapped & _within(a, LAT) & _within(b, LON)
        wgs_swapped = ~rd & ~swapped & ~wgs & _within(a, LON) & _within(b, LAT)
        x = np.where(rd, a, np.where(swapped, b, np.nan))
        y = np.where(rd, b, np.where(swapped, a, np.nan))
        lat = np.where(wgs, a, np.where(wgs_swapped, b, np.nan))
        lon = np.where(wgs, b, np.where(wgs_swapped, a, np.nan))
        notes["x/y verwisseld"] = int(swapped.sum())
        notes["lat/lon in RD-kolommen"] = int((wgs | wgs_swapped).sum())
        given = ~(np.isnan(a) | np.isnan(b))
    elif {"lat", "lon"} <= set(frame.columns):
        a = parse_numbers(frame["lat"]).to_numpy(float)
        b = parse_numbers(frame["lon"]).to_numpy(float)
        ok = _within(a, LAT) & _within(b, LON)
        swapped = ~ok & _within(a, LON) & _within(b, LAT)
        lat = np.where(ok, a, np.where(swapped, b, np.nan))
        lon = np.where(ok, b, np.where(swapped, a, np.nan))
        x = np.full(n, np.nan)
        y = np.full(n, np.nan)
        notes["lat/lon verwisseld"] = int(swapped.sum())
        notes["lat/lon omgerekend naar RD"] = int((ok | swapped).sum())
        given = ~(np.isnan(a) | np.isnan(b))
    else:
        return Placed(np.full(n, np.nan), np.full(n, np.nan), {"geen coördinaten": n})
    convert = ~np.isnan(lat)
    if convert.any():
        x[convert], y[convert] = _TO_RD.transform(lon[convert], lat[convert])
    placed = ~np.isnan(x)
    notes["ongeldige coördinaten"] = int((given & ~placed).sum())
    notes["geen coördinaten"] = int((~given).sum())
    return Placed(x, y, {k: v for k, v in notes.items() if v})


def address_keys(frame: pd.DataFrame) -> pd.Series:
    """Normalised address keys ``POSTCODE|nummer|letter|toevoeging`` (blank when incomplete)."""
    postcode = frame["postcode"].astype(str).str.upper().str.replace(" ", "", regex=False)
    number = parse_numbers(frame["huisnummer"])
    letter = frame.get("huisletter", pd.Series("", index=frame.index)).astype(str).str.upper()
    addition = frame.get("toevoeging", pd.Series("", index=frame.index)).astype(str).str.upper()
    valid = postcode.str.fullmatch(r"\d{4}[A-Z]{2}") & number.notna()
    number_text = number.fillna(0).astype("int64").astype(str)
    keys = postcode + "|" + number_text + "|" + letter.str.strip() + "|" + addition.str.strip()
    return keys.where(valid & ~blank(frame["postcode"]), "")


def cell_codes(x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """CBS grid cell codes (``E`` + x hectometres, ``N`` + y hectometres of the lower-left corner).

    A 100 m cell with lower-left corner (155300, 463200) is ``E1553N4632``; 500 m cells are named
    the same way after their lower-left corner. NaN coordinates give ``None``.
    """
    out = np.full(len(x), None, dtype=object)
    ok = ~(np.isnan(x) | np.isnan(y))
    ex = (np.floor(x[ok] / size) * size // 100).astype(np.int64)
    ny = (np.floor(y[ok] / size) * size // 100).astype(np.int64)
    out[ok] = [f"E{a:04d}N{b:04d}" for a, b in zip(ex.tolist(), ny.tolist(), strict=True)]
    return out


class AreaIndex:
    """Assigns points to buurten (and their wijk), bedrijventerreinen and grid cells."""

    def __init__(self, buurten: gpd.GeoDataFrame, terreinen: gpd.GeoDataFrame | None = None,
                 grid_sizes: tuple[int, ...] = (100, 500)) -> None:
        self._buurt_codes = buurten["code"].to_numpy(object)
        self._wijk_codes = buurten["wijk"].to_numpy(object)
        self._buurt_tree = shapely.STRtree(buurten.geometry.values)
        self._bt_codes = np.array([], dtype=object)
        self._bt_tree: shapely.STRtree | None = None
        if terreinen is not None and not terreinen.empty:
            self._bt_codes = terreinen["code"].to_numpy(object)
            self._bt_tree = shapely.STRtree(terreinen.geometry.values)
        self.grid_sizes = grid_sizes

    @staticmethod
    def _first_hit(tree: shapely.STRtree, points: np.ndarray) -> tuple[np.ndarray, int]:
        pairs = tree.query(points, predicate="intersects")
        hit = np.full(len(points), -1, dtype=np.int64)
        if pairs.size:
            order = np.lexsort((pairs[1], pairs[0]))
            point_idx, area_idx = pairs[0][order], pairs[1][order]
            first = np.r_[True, point_idx[1:] != point_idx[:-1]]
            hit[point_idx[first]] = area_idx[first]
            return hit, int((~first).sum())
        return hit, 0

    def assign(self, x: np.ndarray, y: np.ndarray) -> tuple[pd.DataFrame, dict[str, int]]:
        """Area codes per point, and counts of points outside any buurt or in two."""
        points = shapely.points(x, y)
        buurt_idx, in_two = self._first_hit(self._buurt_tree, points)
        inside = buurt_idx >= 0
        out = pd.DataFrame({
            "buurt": np.where(inside, self._buurt_codes[buurt_idx.clip(0)], None),
            "wijk": np.where(inside, self._wijk_codes[buurt_idx.clip(0)], None),
        })
        if self._bt_tree is not None:
            bt_idx, _ = self._first_hit(self._bt_tree, points)
            out["bedrijventerrein"] = np.where(bt_idx >= 0, self._bt_codes[bt_idx.clip(0)], None)
        else:
            out["bedrijventerrein"] = None
        for size in (100, 500):
            out[f"cell{size}"] = cell_codes(x, y, size) if size in self.grid_sizes else None
        has_xy = ~(np.isnan(x) | np.isnan(y))
        stats = {"buiten de gemeente": int((has_xy & ~inside).sum()),
                 "in twee buurten (eerste gekozen)": in_two}
        return out, {k: v for k, v in stats.items() if v}
