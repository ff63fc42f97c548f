"""Benchmark: Gi* with 9,999 permutations on 10,000 buurten (target: under 60 s).

Uses the first 10,000 (by code) of the 10,416 real 2014 buurten in ``../shared/realdata``, with
Queen contiguity; where that folder is absent, a 100 x 100 lattice of square "buurten". The
variable is a spatially smooth lognormal field with noise, so there are real hot and cold
spots to find. Prints the time to build the weights, the time of Gi* (statistic, 9,999
permutations per buurt, FDR), the hot and cold spots found, and the peak memory.

    python bench/hotspots.py
    python bench/hotspots.py --areas 2000 --permutations 999   # a quick run
"""

from __future__ import annotations

import argparse
import logging
import resource
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from riskmap.models.hotspots import GetisOrdHotspots, LocalMoranClusters
from riskmap.models.weights import Neighbours, queen_neighbours
from riskmap.store import CRS

BUURTEN = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "nl_buurten_2014.gpkg"
TARGET_S = 60.0
SEED = 20250930


def buurten(n: int) -> tuple[gpd.GeoDataFrame, str]:
    """``n`` real buurten, or a lattice of ``n`` squares when the real data is absent."""
    if BUURTEN.exists():
        frame = gpd.read_file(BUURTEN, layer="buurten").rename(columns={"statcode": "code"})
        frame = frame.sort_values("code").head(n).to_crs(CRS)
        return frame[["code", "geometry"]].reset_index(drop=True), \
            f"{len(frame):,} real CBS buurten (2014)"
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x, y = 100_000 + 500.0 * (i % side), 400_000 + 500.0 * (i // side)
    print(f"({BUURTEN} not found: using a lattice)")
    return gpd.GeoDataFrame({"code": [f"BU{k:08d}" for k in i]},
                            geometry=shapely.box(x, y, x + 500, y + 500), crs=CRS), \
        f"{n:,} lattice squares of 500 m"


def field(areas: gpd.GeoDataFrame) -> np.ndarray:
    """A smooth lognormal field over the centroids plus noise (non-negative)."""
    rng = np.random.default_rng(SEED)
    x, y = areas.centroid.x.to_numpy() / 25_000, areas.centroid.y.to_numpy() / 25_000
    smooth = np.sin(x) * np.cos(1.3 * y) + 0.5 * np.sin(2.1 * x + y)
    return np.exp(smooth + 0.6 * rng.standard_normal(len(areas)))


def timed(label: str, function, *args):
    start = time.perf_counter()
    result = function(*args)
    seconds = time.perf_counter() - start
    print(f"{label:<46} {seconds:8.2f} s")
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=10_000)
    parser.add_argument("--permutations", type=int, default=9_999)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    areas, what = buurten(args.areas)
    print(f"Gi* benchmark: {what}, {args.permutations:,} permutations per area")
    neighbours: Neighbours
    neighbours, _ = timed("Queen contiguity weights (libpysal)", queen_neighbours, areas)
    print(f"  {neighbours.describe('weights')}")
    values = field(areas)
    gi, seconds = timed(f"Gi* ({args.permutations:,} permutations, two-sided, BH)",
                        GetisOrdHotspots(permutations=args.permutations, seed=1).fit, values,
                        neighbours)
    categories = dict(zip(*np.unique(gi.categories_, return_counts=True), strict=True))
    print(f"  at FDR 0.05: {categories.get('hotspot', 0):,} hot spots, "
          f"{categories.get('coldspot', 0):,} cold spots, "
          f"{categories.get('no_neighbours', 0):,} without neighbours")
    timed(f"local Moran ({args.permutations:,} permutations)",
          LocalMoranClusters(permutations=args.permutations, seed=1).fit, values, neighbours)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdict = "within" if seconds < TARGET_S else "ABOVE"
    print(f"peak memory {peak:,.0f} MB; Gi* {seconds:.2f} s is {verdict} the {TARGET_S:.0f} s "
          f"target")


if __name__ == "__main__":
    main()
