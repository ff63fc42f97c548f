"""The CBS-aligned grid: codes, alignment, polygons."""

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from riskmap.errors import InputError
from riskmap.models.grid import cell_code, cell_polygons, event_counts, grid_from_boundaries
from riskmap.periods import Period
from riskmap.sources._places import cell_codes
from riskmap.store import CRS


@pytest.mark.parametrize("size", [100, 500])
def test_codes_match_the_loaders_cells(size):
    rng = np.random.default_rng(1)
    x, y = rng.uniform(150_000, 160_000, 200), rng.uniform(460_000, 470_000, 200)
    np.testing.assert_array_equal(cell_code(x, y, size), cell_codes(x, y, size))


def test_known_codes_and_polygons():
    assert cell_code(np.array([155_345.0]), np.array([463_299.9]), 100)[0] == "E1553N4632"
    assert cell_code(np.array([155_345.0]), np.array([463_299.9]), 500)[0] == "E1550N4630"
    square = cell_polygons(["E1550N4630"], 500).iloc[0]
    assert square.bounds == (155_000.0, 463_000.0, 155_500.0, 463_500.0)


@pytest.mark.parametrize("size", [100, 500])
def test_grid_covers_the_area_with_aligned_cells(size):
    area = gpd.GeoSeries([box(155_020, 463_110, 156_480, 464_010)], crs=CRS)
    grid = grid_from_boundaries(area, size)
    bounds = grid.geometry.bounds
    assert (bounds % size == 0).all(axis=None)
    assert grid.geometry.intersects(area.iloc[0]).all()
    assert grid.union_all().contains(area.iloc[0])
    assert grid["code"].is_unique
    np.testing.assert_allclose(grid.geometry.area, size * size)
    assert grid.geometry.equals(cell_polygons(grid["code"], size).set_axis(grid.index))


def test_a_cell_that_only_touches_the_area_is_left_out():
    # on grid lines: the cells around the square share only its border (or a corner) with it;
    # a triangle cuts its cells partly, and a hole inside a cell keeps it
    square = box(155_000, 463_000, 156_000, 464_000).difference(box(155_600, 463_600,
                                                                    155_900, 463_900))
    triangle = gpd.GeoSeries.from_wkt(["POLYGON ((157000 463000, 158000 463000, 157000 464000, "
                                       "157000 463000))"]).iloc[0]
    grid = grid_from_boundaries(gpd.GeoSeries([square, triangle], crs=CRS), 500)
    assert sorted(grid["code"]) == ["E1550N4630", "E1550N4635", "E1555N4630", "E1555N4635",
                                    "E1570N4630", "E1570N4635", "E1575N4630"]


def test_grid_refuses_other_crs_and_sizes():
    area = gpd.GeoSeries([box(5, 52, 5.1, 52.1)], crs="EPSG:4326")
    with pytest.raises(InputError, match=r"de grenzen zijn in EPSG:4326; het CBS-raster vraagt EPSG:28992"):
        grid_from_boundaries(area, 100)
    with pytest.raises(InputError, match=r"celgrootte 250 onbekend; kies uit \{100, 500\}"):
        grid_from_boundaries(area.to_crs(CRS), 250)
    with pytest.raises(InputError, match="celcode 'X1N2' is geen CBS-code"):
        cell_polygons(["X1N2"], 100)


def test_register_events_have_no_100_m_cells():
    with pytest.raises(InputError, match=r"geen cel van 100 m .*gebruik cellen van 500 m"):
        event_counts(None, 100, Period(2025, 3))  # type: ignore[arg-type]
