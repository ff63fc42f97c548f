"""Scale: Gi* with 9,999 permutations on 10,000 real buurten within the 60 s target."""

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from riskmap.models.hotspots import GetisOrdHotspots
from riskmap.models.weights import queen_neighbours
from riskmap.store import CRS


@pytest.mark.slow
def test_gi_star_on_10000_buurten_with_9999_permutations(realdata: Path):
    buurten = gpd.read_file(realdata / "nl_buurten_2014.gpkg", layer="buurten")
    buurten = buurten.rename(columns={"statcode": "code"}).sort_values("code").head(10_000)
    neighbours = queen_neighbours(buurten[["code", "geometry"]].to_crs(CRS))
    values = np.random.default_rng(1).lognormal(size=10_000)
    start = time.perf_counter()
    fit = GetisOrdHotspots(permutations=9_999, seed=1).fit(values, neighbours)
    seconds = time.perf_counter() - start
    print(f"\nGi* with 9,999 permutations on 10,000 buurten: {seconds:.2f} s")
    assert seconds < 60
    # random values: hardly any false hot or cold spot
    assert np.isin(fit.categories_, ["hotspot", "coldspot"]).mean() < 0.01
