import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from riskmap.sources._places import AreaIndex, address_keys, cell_codes, coordinates_from_frame

TO_WGS84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)


def test_rd_swapped_and_latlon_in_rd_columns():
    lon, lat = TO_WGS84.transform(155_000, 463_000)
    frame = pd.DataFrame({"x_rd": ["155000", "463000", f"{lat}".replace(".", ","), "", "9"],
                          "y_rd": ["463000", "155000", f"{lon}".replace(".", ","), "", "9"]})
    placed = coordinates_from_frame(frame)
    np.testing.assert_allclose(placed.x[:3], [155_000] * 3, atol=0.5)
    np.testing.assert_allclose(placed.y[:3], [463_000] * 3, atol=0.5)
    assert np.isnan(placed.x[3:]).all()
    assert placed.notes == {"x/y verwisseld": 1, "lat/lon in RD-kolommen": 1,
                            "ongeldige coördinaten": 1, "geen coördinaten": 1}


def test_lat_lon_columns_and_swapped():
    lon, lat = TO_WGS84.transform(155_000, 463_000)
    frame = pd.DataFrame({"lat": [lat, lon], "lon": [lon, lat]}).astype(str)
    placed = coordinates_from_frame(frame)
    np.testing.assert_allclose(placed.x, [155_000, 155_000], atol=0.5)
    assert placed.notes["lat/lon verwisseld"] == 1


def test_cell_codes_follow_cbs_grid():
    x, y = np.array([155_349.9, 155_350.0, np.nan]), np.array([463_299.0, 463_200.0, 1.0])
    assert cell_codes(x, y, 100).tolist() == ["E1553N4632", "E1553N4632", None]
    assert cell_codes(x, y, 500).tolist() == ["E1550N4630", "E1550N4630", None]


def test_address_keys_normalise_and_blank_incomplete():
    frame = pd.DataFrame({"postcode": ["1234 ab", "12AB", "1234AB"], "huisnummer": ["5", "1", ""],
                          "huisletter": ["a", "", ""], "toevoeging": ["", "", ""]})
    assert address_keys(frame).tolist() == ["1234AB|5|A|", "", ""]


def test_points_outside_and_in_two_overlapping_buurten():
    buurten = gpd.GeoDataFrame({"code": ["BU1", "BU2"], "wijk": ["WK1", "WK1"]},
                               geometry=[shapely.box(0, 0, 10, 10), shapely.box(8, 0, 20, 10)])
    terreinen = gpd.GeoDataFrame({"code": ["BT7"]}, geometry=[shapely.box(15, 0, 20, 5)])
    index = AreaIndex(buurten, {"bedrijventerrein": terreinen})
    areas, stats = index.assign(np.array([1.0, 9.0, 16.0, 50.0]), np.array([1.0, 1.0, 1.0, 1.0]))
    assert areas["buurt"].tolist()[:3] == ["BU1", "BU1", "BU2"]
    assert areas["buurt"].isna().tolist() == [False, False, False, True]
    assert areas["analysis_areas"].notna().tolist() == [False, False, True, False]
    assert areas["analysis_areas"].iloc[2] == ["BT7"]
    assert stats == {"buiten de gemeente": 1, "in twee buurten (eerste gekozen)": 1}


def test_only_the_grid_cells_asked_for_are_made():
    buurten = gpd.GeoDataFrame({"code": ["BU1"], "wijk": ["WK1"]},
                               geometry=[shapely.box(155_000, 463_000, 156_000, 464_000)])
    index = AreaIndex(buurten, {}, (100, 500))
    x, y = np.array([155_310.0, 155_950.0]), np.array([463_240.0, 463_990.0])
    every, _ = index.assign(x, y)
    assert every["cell100"].tolist() == ["E1553N4632", "E1559N4639"]
    only, _ = index.assign(x, y, sizes=(500,))
    assert only["cell100"].isna().all()
    assert only["cell500"].tolist() == every["cell500"].tolist() == ["E1550N4630", "E1555N4635"]


def test_per_values_gives_what_the_function_gives_on_every_row():
    """Computed once per distinct value and spread over the rows: the same values and dtypes
    as the function applied to all rows (dates and numbers by numpy, text by Arrow, objects
    with None as they are)."""
    from riskmap.sources._places import per_values

    values = pd.Series(["01-02-2020", "", None, "2019", "01-02-2020", "31-12-1999", ""] * 50,
                       dtype="str", index=np.arange(350) * 3)

    def function(distinct: pd.Series) -> list[pd.Series]:
        text = distinct.astype(str)
        return [pd.to_datetime(text, format="%d-%m-%Y", errors="coerce"),
                pd.to_datetime(text, format="%d-%m-%Y", errors="coerce").astype("datetime64[s]"),
                text.str.len().astype(float), text.str.startswith("0").astype(bool),
                text.str[:2], pd.Series([None if t == "" else t for t in text], dtype=object,
                                        index=distinct.index)]

    spread = per_values(values, function)
    everywhere = function(values.astype(object))
    assert len(spread) == len(everywhere)
    for got, full in zip(spread, everywhere, strict=True):
        # objects: the dtype pandas infers for these values
        expected = pd.Series(full.to_numpy(), index=full.index) if full.dtype == object else full
        pd.testing.assert_series_equal(got, expected, check_exact=True)
    assert [str(s.dtype) for s in spread][:4] == ["datetime64[us]", "datetime64[s]", "float64",
                                                  "bool"]
