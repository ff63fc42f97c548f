"""Small synthetic areas for map tests (no store needed)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box


@pytest.fixture
def grid_areas() -> gpd.GeoDataFrame:
    """Nine 1 km squares in RD New with a score, one of them missing, and tooltip texts."""
    squares = [box(185_000 + 1000 * i, 446_000 + 1000 * j, 186_000 + 1000 * i,
                   447_000 + 1000 * j) for j in range(3) for i in range(3)]
    scores = np.array([10.0, 20, 30, 40, 50, 60, 70, 80, np.nan])
    return gpd.GeoDataFrame({
        "code": [f"BU0000010{k}" for k in range(9)], "name": [f"Buurt {k}" for k in range(9)],
        "score": scores, "secret": [f"{k:016x}" for k in range(9)],
        "category": ["Hotspot", "Coldspot", "Niet significant"] * 3,
    }, geometry=squares, crs="EPSG:28992")
