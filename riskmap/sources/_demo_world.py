"""The fictional demo gemeente *Havenwaard* (GM9999): geography, statistics, businesses, events.

Everything is drawn from one seeded generator, so the same seed gives the same world. A hidden
risk field (a port zone whose risk decays with the distance from the Havengebied, two residential
clusters of moderately raised risk, and two bedrijventerreinen) drives the register events, the
business mix and the outcome of integrale controles; no indicator reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, Point, Polygon, box

from riskmap.periods import Period, quarters
from riskmap.store import CRS

GEMEENTE = "GM9999"
NAME = "Havenwaard"
YEAR = 2024
FIRST_PERIOD = Period(2023, 4)
LAST_PERIOD = Period(2025, 3)
CENTRE = (185_000.0, 445_000.0)
EXTENT = (180_000.0, 440_000.0, 192_000.0, 450_000.0)

# suffix, name, kind, number of buurten
WIJKEN = [
    ("00", "Centrum", "centrum", 10), ("01", "Noord", "wonen", 9), ("02", "West", "wonen", 9),
    ("03", "Zuid", "wonen", 9), ("04", "Oost", "wonen", 8), ("05", "Havengebied", "haven", 7),
    ("06", "De Kooi", "industrie", 5), ("07", "Buitengebied Noord", "buitengebied", 6),
    ("08", "Buitengebied Zuid", "buitengebied", 6),
]
BUURT_NAMES = {
    "00": ["Binnenstad", "Marktkwartier", "Kerkbuurt", "Stationsbuurt", "Oude Gracht", "Molenbuurt",
           "Raadhuisbuurt", "Vismarkt", "Singelbuurt", "Havenkwartier"],
    "01": ["Bloemenbuurt", "Vogelwijk", "Parkzicht", "Noorderhof", "Lindenhof", "Bomenbuurt",
           "Noorderplas", "Zonnewijzer", "Klaverveld"],
    "02": ["Westerpark", "Schildersbuurt", "Kastanjehof", "De Weide", "Westerhout", "Musicibuurt",
           "Rietland", "Dichtersbuurt", "Westerdijk"],
    "03": ["Zuiderpark", "Sterrenbuurt", "De Hoven", "Zuidwal", "Rivierenbuurt", "Beukenlaan",
           "Eikenhorst", "Zuiderkwartier", "Landjuweel"],
    "04": ["Oosterpoort", "Dokwerkersbuurt", "Oosterhaven", "Kadebuurt", "Scheepsbouwbuurt",
           "Oostwal", "De Werf", "Touwslagersbuurt"],
    "05": ["Oostkade", "Petroleumhaven", "Containerhaven", "Visserijhaven", "Graanhaven",
           "Noordkade", "Zuidkade"],
    "06": ["Kooiweg", "Ambachtsweg", "Smederij", "Nijverheid", "Kooi-Zuid"],
    "07": ["Noorderpolder", "Hoeve Noord", "Dijkhuizen", "Veenhoek", "Oude Weg", "Polderzicht"],
    "08": ["Zuiderpolder", "Akkerland", "Kreekrug", "Broekhuizen", "Zandweg", "Hoeve Zuid"],
}
TERREINEN = [  # RIN_NUMMER, name, WLOC_TYPE, hidden risk
    (9999001, "Haventerrein Oostkade", "Zeehaventerrein", 0.85),
    (9999002, "Bedrijventerrein Kooiweg", "Gemengd bedrijfsterrein", 0.8),
    (9999003, "Spoorzone", "Gemengd bedrijfsterrein", 0.15),
    (9999004, "Agrobedrijvenpark De Akker", "Zwaar industrieterrein", 0.1),
]
# The port zone: the Havengebied's buurten carry high risk (PORT_RISK); nearby buurten get a halo
# of HALO_PEAK * exp(-(d / HALO_REACH)^2), d the distance (metres) of a buurt's centroid from the
# Havengebied. High risk thus forms one compact zone, the kind of cluster that hotspot statistics
# on some 70 buurten can detect; smaller clusters are there to be found by the scores.
PORT_RISK = (0.8, 0.95)
HALO_PEAK = 0.75
HALO_REACH = 900.0
# Residential clusters of moderately raised risk: anchor and number of buurten.
CLUSTERS = [((182_600.0, 443_700.0), 5), ((184_600.0, 447_800.0), 4)]
CLUSTER_RISK = (0.25, 0.4)
BASINS = [box(189_500, 444_000, 191_600, 444_400), box(189_500, 446_500, 191_600, 446_900)]


@dataclass
class World:
    """The simulated gemeente, before it is written to files."""

    gemeente: Polygon
    wijken: gpd.GeoDataFrame
    buurten: gpd.GeoDataFrame
    terreinen: gpd.GeoDataFrame
    addresses: pd.DataFrame
    establishments: pd.DataFrame
    events: dict[str, pd.DataFrame]
    police: pd.DataFrame
    parks: gpd.GeoDataFrame | None = None


def _sector(a0: float, a1: float, radius: float = 9_000.0) -> Polygon:
    angles = np.radians(np.linspace(a0, a1, 32))
    cx, cy = CENTRE
    ring = [(cx, cy), *zip(cx + radius * np.cos(angles), cy + radius * np.sin(angles), strict=True)]
    return Polygon(ring)


def wijk_shapes() -> dict[str, Polygon]:
    """The nine wijk polygons, keyed by wijk suffix."""
    gem = box(*EXTENT)
    centre = Point(CENTRE)
    inner, outer = centre.buffer(1_300, 64), centre.buffer(3_600, 64)
    ring = outer.difference(inner)
    haven = box(188_800, 441_500, EXTENT[2], EXTENT[3]).difference(outer)
    industrie = box(EXTENT[0], EXTENT[1], 182_800, 442_600).difference(outer)
    rest = gem.difference(outer).difference(haven).difference(industrie)
    north = rest.intersection(box(EXTENT[0], 445_000, EXTENT[2], EXTENT[3]))
    shapes = {"00": inner, "01": ring.intersection(_sector(45, 135)),
              "02": ring.intersection(_sector(135, 225)), "03": ring.intersection(_sector(225, 315)),
              "04": ring.intersection(_sector(-45, 45)), "05": haven, "06": industrie,
              "07": north, "08": rest.difference(north)}
    return {k: shapely.make_valid(v) for k, v in shapes.items()}


def sample_points(shape: Polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside a polygon (rejection sampling)."""
    minx, miny, maxx, maxy = shape.bounds
    found: list[np.ndarray] = []
    total = 0
    shapely.prepare(shape)
    while total < n:
        batch = rng.uniform((minx, miny), (maxx, maxy), size=(max(2 * n, 64), 2))
        keep = batch[shapely.contains_xy(shape, batch[:, 0], batch[:, 1])]
        found.append(keep)
        total += len(keep)
    return np.vstack(found)[:n]


def _cells(points: np.ndarray, shape: Polygon) -> list[Polygon]:
    diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=shape.buffer(2_000),
                                       ordered=True)
    return [cell.intersection(shape) for cell in diagram.geoms]


def split_polygon(shape: Polygon, n: int, rng: np.random.Generator) -> list[Polygon]:
    """Split a polygon into ``n`` compact parts (Voronoi cells after Lloyd relaxation)."""
    points = sample_points(shape, n, rng)
    for _ in range(8):
        points = np.array([[c.centroid.x, c.centroid.y] for c in _cells(points, shape)])
    cells = _cells(points, shape)
    order = sorted(range(n), key=lambda i: (-round(cells[i].centroid.y, -2), cells[i].centroid.x))
    return [cells[i] for i in order]


def build_geography(rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Wijken and buurten of Havenwaard (land only; harbour basins are cut out)."""
    wijk_rows, buurt_rows = [], []
    for (suffix, name, kind, n), shape in zip(WIJKEN, wijk_shapes().values(), strict=True):
        wijk_code = f"WK{GEMEENTE[2:]}{suffix}"
        wijk_rows.append({"code": wijk_code, "name": name, "kind": kind, "geometry": shape})
        for i, cell in enumerate(split_polygon(shape, n, rng)):
            buurt_rows.append({"code": f"BU{GEMEENTE[2:]}{suffix}{i:02d}", "wijk": wijk_code,
                               "name": BUURT_NAMES[suffix][i], "kind": kind, "geometry": cell})
    wijken = gpd.GeoDataFrame(wijk_rows, crs=CRS)
    buurten = gpd.GeoDataFrame(buurt_rows, crs=CRS)
    return wijken, buurten


def build_terreinen(wijken: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The four bedrijventerreinen (IBIS-like), with their hidden risk."""
    by_name = wijken.set_index("name").geometry
    basins = shapely.union_all(BASINS)
    shapes = [
        by_name["Havengebied"].difference(basins).buffer(-150).intersection(
            box(188_900, 442_000, 191_900, 449_000)),
        by_name["De Kooi"].buffer(-200),
        box(184_500, 441_900, 185_300, 442_300),
        box(187_300, 440_500, 187_900, 441_000),
    ]
    rows = [{"rin": rin, "name": name, "wloc": wloc, "risk": risk, "geometry": shape}
            for (rin, name, wloc, risk), shape in zip(TERREINEN, shapes, strict=True)]
    return gpd.GeoDataFrame(rows, crs=CRS)


def plant_risk(buurten: gpd.GeoDataFrame, rng: np.random.Generator) -> np.ndarray:
    """Hidden risk per buurt: low background, the port zone with its halo, two residential
    clusters of moderately raised risk."""
    risk = 0.06 + 0.08 * rng.random(len(buurten))
    distance = shapely.distance(buurten.centroid.values, wijk_shapes()["05"])
    risk = np.maximum(risk, HALO_PEAK * np.exp(-((distance / HALO_REACH) ** 2)))
    port = (buurten["kind"] == "haven").to_numpy()
    risk[port] = PORT_RISK[0] + (PORT_RISK[1] - PORT_RISK[0]) * rng.random(int(port.sum()))
    centroids = np.column_stack([buurten.centroid.x, buurten.centroid.y])
    geoms = buurten.geometry.values
    low, high = CLUSTER_RISK
    for anchor, size in CLUSTERS:
        seed = int(np.argmin(np.hypot(*(centroids - anchor).T)))
        touching = np.flatnonzero(shapely.intersects(geoms, geoms[seed].buffer(1.0)))
        touching = touching[touching != seed]
        near = touching[np.argsort(np.hypot(*(centroids[touching] - centroids[seed]).T))]
        members = np.r_[seed, near[: size - 1]]
        risk[members] = np.maximum(risk[members], low + (high - low) * rng.random(len(members)))
    return risk


def quarters_of_demo() -> list[Period]:
    """The eight quarters of register data in the demo."""
    return quarters(FIRST_PERIOD, LAST_PERIOD)
