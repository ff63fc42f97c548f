"""Assign 1,000,000 synthetic points to all 10,416 real buurten of the Netherlands."""

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from riskmap.sources._places import AreaIndex


def test_one_million_points_to_all_real_buurten(realdata: Path):
    buurten = gpd.read_file(realdata / "nl_buurten_2014.gpkg").rename(columns={"statcode": "code"})
    buurten["wijk"] = "WK" + buurten["code"].str[2:8]
    rng = np.random.default_rng(1)
    # points inside random buurten (so most are inside), plus 5 % anywhere in the bounding box
    centroids = buurten.geometry.representative_point()
    pick = rng.integers(len(buurten), size=950_000)
    x = shapely.get_x(centroids.values)[pick] + rng.normal(0, 150, pick.size)
    y = shapely.get_y(centroids.values)[pick] + rng.normal(0, 150, pick.size)
    minx, miny, maxx, maxy = buurten.total_bounds
    x = np.concatenate([x, rng.uniform(minx, maxx, 50_000)])
    y = np.concatenate([y, rng.uniform(miny, maxy, 50_000)])
    index = AreaIndex(buurten)
    start = time.perf_counter()
    areas, stats = index.assign(x, y)
    seconds = time.perf_counter() - start
    print(f"\nassigned {x.size:,} points to {len(buurten):,} buurten in {seconds:.2f} s "
          f"({x.size / seconds:,.0f} points/s); {stats}")
    assert len(areas) == 1_000_000
    inside = areas["buurt"].notna().to_numpy()
    assert stats["buiten de gemeente"] == int((~inside).sum())
    # check a sample against plain shapely point-in-polygon
    sample = rng.choice(x.size, 2_000, replace=False)
    geoms = buurten.set_index("code").geometry
    for i in sample[:300]:
        code = areas["buurt"].iloc[i]
        if isinstance(code, str):
            assert geoms[code].intersects(shapely.Point(x[i], y[i]))
        else:
            assert not shapely.intersects(buurten.geometry.values, shapely.Point(x[i], y[i])).any()
