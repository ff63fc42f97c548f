"""Boundary and bedrijventerrein loaders, on the real CBS boundaries of Vlaardingen and Almere."""

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from riskmap.errors import InputError
from riskmap.project import Project


def _expected(realdata: Path, name: str, prefix: str) -> set[str]:
    frame = gpd.read_file(realdata / f"{name}.gpkg")
    return set(frame.loc[frame["statcode"].str.startswith(prefix), "statcode"].str.strip())


# Harderwijk: its wijk WK024310 is a ring that runs out along a line and back in the 2014 file
@pytest.mark.parametrize(("gemeente", "number"), [("GM0622", "0622"), ("GM0034", "0034"),
                                                  ("GM0243", "0243")])
def test_real_buurten_and_wijken(tmp_path: Path, realdata: Path, gemeente: str, number: str):
    project = Project.init(tmp_path / gemeente, gemeente, 2014)
    project.load_boundaries(realdata / "nl_buurten_2014.gpkg")
    project.load_boundaries(realdata / "nl_wijken_2014.gpkg")
    project.load_boundaries(realdata / "nl_gemeenten_2015.gpkg", year=2014)
    with project.store(read_only=True) as store:
        areas = store.areas()
    buurten = areas[areas["level"] == "buurt"]
    assert set(buurten["code"]) == _expected(realdata, "nl_buurten_2014", f"BU{number}")
    assert set(areas.loc[areas["level"] == "wijk", "code"]) == \
        _expected(realdata, "nl_wijken_2014", f"WK{number}")
    assert areas.loc[areas["level"] == "gemeente", "code"].tolist() == [gemeente]
    assert (buurten["wijk"] == "WK" + buurten["code"].str[2:8]).all()
    assert (buurten["area_ha"] > 0).all() and buurten.crs.to_epsg() == 28992
    assert buurten.geometry.is_valid.all()
    assert set(areas.geom_type) <= {"Polygon", "MultiPolygon"}  # surfaces only, once repaired


def test_reloading_a_level_replaces_it(tmp_path: Path, realdata: Path):
    project = Project.init(tmp_path / "v", "GM0622", 2014)
    for _ in range(2):
        project.load_boundaries(realdata / "nl_buurten_2014.gpkg")
    with project.store(read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM areas WHERE level='buurt'") == \
            len(_expected(realdata, "nl_buurten_2014", "BU0622"))
        assert len(store.lineage()) == 1


def test_wgs84_geojson_is_converted(tmp_path: Path, realdata: Path):
    frame = gpd.read_file(realdata / "nl_buurten_2014.gpkg")
    frame = frame[frame["statcode"].str.startswith("BU0622")]
    path = tmp_path / "buurten.geojson"
    frame.to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
    project = Project.init(tmp_path / "v", "GM0622", 2014)
    project.load_boundaries(path)
    with project.store(read_only=True) as store:
        stored = store.areas("buurt")
    assert stored.crs.to_epsg() == 28992
    assert stored.geometry.area.sum() == pytest.approx(frame.geometry.area.sum(), rel=1e-3)


def test_water_parts_kept_and_other_gemeenten_refused(tmp_path: Path, demo_sources: Path):
    project = Project.init(tmp_path / "h", "GM9999", 2024)
    record = project.load_boundaries(demo_sources / "wijkenbuurten_2024.gpkg")
    assert record.rejects == {} and record.rows_read == 84  # 5 water parts merged into buurten
    with project.store(read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM areas WHERE level='buurt'") == 69
        water = store.scalar("SELECT count(*) FROM areas WHERE attributes LIKE '%water_ha%'")
    assert water == 5
    other = Project.init(tmp_path / "o", "GM0034", 2024)
    with pytest.raises(InputError, match="geen gebieden van GM0034 in het bestand"):
        other.load_boundaries(demo_sources / "wijkenbuurten_2024.gpkg")


def _cbs_layer(rows: list[tuple[str, str, str, shapely.Polygon]], level: str) -> gpd.GeoDataFrame:
    """A layer as in CBS's wijkenbuurten_{year}.gpkg: codes, names, ``water`` JA/NEE, ``jaar``,
    ``jrstatcode`` and -99999999 where CBS keeps a figure secret."""
    code, name = {"buurt": ("buurtcode", "buurtnaam"), "wijk": ("wijkcode", "wijknaam")}[level]
    return gpd.GeoDataFrame({
        code: [r[0] for r in rows], name: [r[1] for r in rows], "gemeentecode": "GM0622",
        "gemeentenaam": "Vlaardingen", "water": [r[2] for r in rows], "jaar": 2024,
        "jrstatcode": [f"2024{r[0]}" for r in rows],
        "aantal_inwoners": [0 if r[2] == "JA" else 1250 for r in rows],
        "omgevingsadressendichtheid": -99999999}, geometry=[r[3] for r in rows], crs=28992)


HARBOUR = shapely.box(81_500, 435_000, 82_500, 437_000)


def test_water_buurten_are_areas_and_points_in_them_are_placed(tmp_path: Path):
    path = tmp_path / "wijkenbuurten.gpkg"  # no year in the name: the layer's `jaar` tells
    quay, basin = shapely.box(80_000, 435_000, 81_000, 436_000), \
        shapely.box(81_000, 435_000, 81_500, 436_000)
    _cbs_layer([("BU06220101", "Oude Haven", "NEE", quay), ("BU06220101", "Oude Haven", "JA", basin),
                ("BU06220102", "Centrum", "NEE", shapely.box(80_000, 436_000, 81_500, 437_000)),
                ("BU06220199", "Nieuwe Waterweg", "JA", HARBOUR)], "buurt") \
        .to_file(path, layer="buurten", engine="pyogrio")
    project = Project.init(tmp_path / "v", "GM0622", 2023)
    record = project.load_boundaries(path)
    assert record.boundary_year == 2024
    with project.store(read_only=True) as store:
        areas = store.query("SELECT code, area_ha, attributes FROM areas WHERE level = 'buurt' "
                            "ORDER BY code").set_index("code")
    assert list(areas.index) == ["BU06220101", "BU06220102", "BU06220199"]
    assert areas.loc["BU06220101", "area_ha"] == pytest.approx(100)  # land only
    assert json.loads(areas.loc["BU06220101", "attributes"]) == {"water_ha": 50.0}
    assert json.loads(areas.loc["BU06220199", "attributes"]) == {"water_ha": 200.0,
                                                                  "waterbuurt": True}
    meldingen = tmp_path / "meldingen.csv"
    pd.DataFrame({"zaaknummer": ["M1", "M2", "M3"], "datum": "2025-03-01", "categorie": "drugs",
                  "x_rd": ["82000", "81200", "90000"], "y_rd": ["436000", "435500", "436000"]}) \
        .to_csv(meldingen, sep=";", index=False)
    record = project.load_register("meldingen", meldingen)
    assert record.rows_kept == 2 and record.rejects == {"buiten de gemeente": 1}
    with project.store(read_only=True) as store:
        placed = store.query("SELECT buurt FROM events ORDER BY id")["buurt"]
    assert sorted(placed) == ["BU06220101", "BU06220199"]


def _spiked(box: shapely.Polygon) -> shapely.Polygon:
    """``box`` whose top edge runs out along a line and back (invalid; CBS's 2014 wijk
    WK024310 is such a ring): repaired, it is the box and a line."""
    x0, y0, x1, y1 = box.bounds
    middle = (x0 + x1) / 2
    return shapely.Polygon([(x0, y0), (x1, y0), (x1, y1), (middle, y1), (middle, y1 + 500),
                            (middle, y1), (x0, y1), (x0, y0)])


def test_a_repaired_ring_keeps_its_surface_only(tmp_path: Path):
    path = tmp_path / "wijkenbuurten_2024.gpkg"
    west, east = shapely.box(80_000, 435_000, 81_000, 436_000), \
        shapely.box(81_000, 435_000, 82_000, 436_000)
    assert shapely.make_valid(_spiked(west)).geom_type == "GeometryCollection"
    _cbs_layer([("BU06220101", "West", "NEE", _spiked(west)), ("BU06220102", "Oost", "NEE", east)],
               "buurt").to_file(path, layer="buurten", engine="pyogrio")
    _cbs_layer([("WK062201", "Centrum", "NEE", _spiked(shapely.union_all([west, east])))], "wijk") \
        .to_file(path, layer="wijken", engine="pyogrio")
    project = Project.init(tmp_path / "v", "GM0622", 2024)
    project.load_boundaries(path)
    with project.store(read_only=True) as store:
        areas = store.areas()
    shapes = areas.set_index("code").geometry
    assert set(shapes.geom_type) == {"Polygon"}  # no GeometryCollection with a line beside it
    assert shapes["BU06220101"].equals(west) and shapes["WK062201"].area == pytest.approx(2e6)
    # a terrein with no surface left is refused as such, not as outside the gemeente
    terreinen = tmp_path / "ibis.gpkg"
    gpd.GeoDataFrame({"RIN_NUMMER": [1, 2], "PLAN_NAAM": ["Haven", "Streep"], "GEM_CODES": "0622"},
                     geometry=[_spiked(east), shapely.Polygon([(80_000, 435_500), (80_900, 435_500),
                                                               (80_000, 435_500)])],
                     crs=28992).to_file(terreinen, engine="pyogrio")
    record = project.load_bedrijventerreinen(terreinen)
    assert record.rows_kept == 1
    assert record.rejects == {"geen vlak (leeg, of alleen lijnen of punten)": 1}
    with project.store(read_only=True) as store:
        assert store.areas("bedrijventerrein").geom_type.tolist() == ["Polygon"]


def test_boundary_file_errors(tmp_path: Path, demo_sources: Path):
    project = Project.init(tmp_path / "h", "GM9999", 2024)
    with pytest.raises(InputError, match="geen laag 'straten'"):
        project.load_boundaries(demo_sources / "wijkenbuurten_2024.gpkg", layer="straten")
    bad = tmp_path / "bad.gpkg"
    bad.write_text("not a geopackage", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.gpkg: niet te openen als GIS-bestand"):
        project.load_boundaries(bad)


def test_ibis_and_own_layer_terreinen(project: Project, tmp_path: Path):
    with project.store(read_only=True) as store:
        terreinen = store.areas("bedrijventerrein")
        attributes = store.query("SELECT attributes FROM areas WHERE level='bedrijventerrein'")
    assert sorted(terreinen["code"]) == [f"BT999900{i}" for i in range(1, 5)]
    assert "Zeehaventerrein" in attributes["attributes"].iloc[0] or \
        attributes["attributes"].str.contains("wloc_type").all()
    own = gpd.GeoDataFrame({"terrein_id": ["K1"], "omschrijving": ["Kop van de haven"]},
                           geometry=[shapely.box(189_000, 443_000, 190_000, 443_800)], crs=28992)
    path = tmp_path / "eigen.gpkg"
    own.to_file(path)
    with pytest.raises(InputError, match=r"kolom .rin_nummer. ontbreekt .*--id-field"):
        project.load_bedrijventerreinen(path)
    with pytest.raises(InputError, match=r"zou 4 opgeslagen rijen .* vervangen door 1"):
        project.load_bedrijventerreinen(path, id_field="terrein_id", name_field="omschrijving")
    record = project.load_bedrijventerreinen(path, id_field="terrein_id", name_field="omschrijving",
                                             allow_shrink=True)
    assert record.rows_kept == 1
    with project.store(read_only=True) as store:
        assert store.areas("bedrijventerrein")["code"].tolist() == ["BTK1"]


def test_ibis_year_from_jaar_keeps_the_latest(project: Project, tmp_path: Path):
    path = tmp_path / "ibis.gpkg"
    site = shapely.box(189_000, 443_000, 190_000, 443_800)
    gpd.GeoDataFrame({"RIN_NUMMER": [9999101, 9999101], "JAAR": [2022, 2023],
                      "PLAN_NAAM": ["Kop van de haven", "Kop van de haven"], "GEM_CODES": "9999",
                      "HA_BRUTO": [80.0, 80.0], "HA_NETTO": [61.5, 62.0],
                      "WLOC_TYPE": "Zeehaventerrein"}, geometry=[site, site], crs=28992) \
        .to_file(path, layer="bedrijventerreinen", engine="pyogrio")
    record = project.load_bedrijventerreinen(path)
    assert record.boundary_year == 2023 and record.rejects == {"ander jaar in de laag": 1}
    with project.store(read_only=True) as store:
        assert store.scalar("SELECT year FROM areas WHERE code = 'BT9999101'") == 2023
