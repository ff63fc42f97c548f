"""Boundary and bedrijventerrein loaders, on the real CBS boundaries of Vlaardingen and Almere."""

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from riskmap.errors import InputError
from riskmap.project import Project


def _expected(realdata: Path, name: str, prefix: str) -> set[str]:
    frame = gpd.read_file(realdata / f"{name}.gpkg")
    return set(frame.loc[frame["statcode"].str.startswith(prefix), "statcode"].str.strip())


@pytest.mark.parametrize(("gemeente", "number"), [("GM0622", "0622"), ("GM0034", "0034")])
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


def test_water_parts_dropped_and_other_gemeenten_refused(tmp_path: Path, demo_sources: Path):
    project = Project.init(tmp_path / "h", "GM9999", 2024)
    record = project.load_boundaries(demo_sources / "wijkenbuurten_2024.gpkg")
    assert record.rejects == {"water of andere gemeente": 5}
    with project.store(read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM areas WHERE level='buurt'") == 69
    other = Project.init(tmp_path / "o", "GM0034", 2024)
    with pytest.raises(InputError, match="no areas of GM0034 in the file"):
        other.load_boundaries(demo_sources / "wijkenbuurten_2024.gpkg")


def test_boundary_file_errors(tmp_path: Path, demo_sources: Path):
    project = Project.init(tmp_path / "h", "GM9999", 2024)
    with pytest.raises(InputError, match="no layer 'straten'"):
        project.load_boundaries(demo_sources / "wijkenbuurten_2024.gpkg", layer="straten")
    bad = tmp_path / "bad.gpkg"
    bad.write_text("not a geopackage", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.gpkg: cannot open"):
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
    with pytest.raises(InputError, match=r"missing column .rin_nummer. .*--id-field"):
        project.load_bedrijventerreinen(path)
    with pytest.raises(InputError, match=r"zou 4 opgeslagen rijen .* vervangen door 1"):
        project.load_bedrijventerreinen(path, id_field="terrein_id", name_field="omschrijving")
    record = project.load_bedrijventerreinen(path, id_field="terrein_id", name_field="omschrijving",
                                             allow_shrink=True)
    assert record.rows_kept == 1
    with project.store(read_only=True) as store:
        assert store.areas("bedrijventerrein")["code"].tolist() == ["BTK1"]
