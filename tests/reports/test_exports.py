"""Exports for QGIS (GeoPackage with layer styles) and Power BI (history table), and the API's
history and profile of one area."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import pandas as pd
import pyogrio
import pytest

from riskmap.errors import InputError


@pytest.fixture(scope="module")
def gpkg(demo_output):
    return demo_output / f"riskmap_{demo_output.name}.gpkg"


def test_geopackage_has_score_and_pattern_layers(gpkg):
    layers = dict(pyogrio.list_layers(gpkg))
    assert {"scores_buurt", "scores_wijk", "scores_bedrijventerrein", "hotspots_buurt",
            "opkomende_hotspots_buurt"} <= set(layers)
    buurten = pyogrio.read_dataframe(gpkg, layer="scores_buurt")
    assert buurten.crs.to_epsg() == 28992 and len(buurten) == 69
    assert {"code", "naam", "totaalscore", "rang", "rang_p5", "rang_p95", "factoren",
            "score_drugs"} <= set(buurten.columns)
    assert pd.api.types.is_float_dtype(buurten["totaalscore"])
    assert buurten.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    hot = pyogrio.read_dataframe(gpkg, layer="hotspots_buurt")
    assert set(hot["categorie"].dropna()) <= {"Hotspot", "Coldspot", "Niet significant"}


def test_geopackage_styles_are_in_the_qgis_layer_styles_table(gpkg):
    with sqlite3.connect(gpkg) as con:
        columns = [row[1] for row in con.execute("PRAGMA table_info(layer_styles)")]
        rows = con.execute("SELECT f_table_name, f_geometry_column, styleName, styleQML, "
                           "useAsDefault FROM layer_styles").fetchall()
        contents = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert columns == ["id", "f_table_catalog", "f_table_schema", "f_table_name",
                       "f_geometry_column", "styleName", "styleQML", "styleSLD", "useAsDefault",
                       "description", "owner", "ui", "update_time"]
    assert contents["layer_styles"] == "attributes"
    layers = {name for name, *_ in rows}
    assert {"scores_buurt", "hotspots_buurt", "opkomende_hotspots_buurt"} <= layers
    for layer in layers:  # exactly one default style per layer
        assert sum(default for name, *_, default in rows if name == layer) == 1
    default = next(qml for name, _, style, qml, d in rows if name == "scores_buurt" and d)
    renderer = ET.fromstring(default.split("\n", 1)[1]).find("renderer-v2")
    assert renderer.get("type") == "graduatedSymbol" and renderer.get("attr") == "totaalscore"
    assert len(renderer.find("ranges")) == 5
    pattern = next(qml for name, *_, qml, d in rows if name == "hotspots_buurt")
    categories = ET.fromstring(pattern.split("\n", 1)[1]).find("renderer-v2/categories")
    assert [c.get("value") for c in categories][:2] == ["Hotspot", "Coldspot"]
    assert all(geometry == "geom" for _, geometry, *_ in rows)


def test_history_is_long_with_indices_and_protected(demo_run):
    folder = demo_run.project.output_dir
    table = pd.read_parquet(folder / "historie.parquet")
    assert list(table.columns) == ["Code", "Naam", "Niveau", "Kwartaal", "Soort", "Kenmerk",
                                   "Omschrijving", "Thema", "Waarde", "Rang",
                                   "Index (gemeente = 100)", "Index (Nederland = 100)"]
    assert table["Kwartaal"].nunique() == 4 and set(table["Soort"]) == {"score", "indicator"}
    assert not table.duplicated(["Code", "Niveau", "Kwartaal", "Soort", "Kenmerk"]).any()
    with demo_run.project.store(read_only=True) as store:
        hidden = store.query("SELECT area_code, period, indicator FROM indicator_values "
                             "WHERE suppressed LIMIT 50")
    merged = hidden.merge(table, left_on=["area_code", "period", "indicator"],
                          right_on=["Code", "Kwartaal", "Kenmerk"])
    assert len(merged) == len(hidden) and merged["Waarde"].isna().all()
    csv = pd.read_csv(folder / "historie.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert len(csv) == len(table)


def test_api_uses_code_and_labels_and_gives_history_and_profile(demo_run):
    project = demo_run.project
    scores = project.scores(level="Buurt")  # level names are case-insensitive
    top = scores.iloc[0]
    assert isinstance(top["drivers"], list) and top["drivers"]
    labels = {i.label for i in project.catalogue()}
    assert set(top["drivers"]) <= labels
    assert "code" in project.indicator_values(level="BUURT").columns
    history = project.history(top["code"])
    assert set(history["period"]) == {"2024Q4", "2025Q1", "2025Q2", "2025Q3"}
    profile = project.profile(top["code"])
    assert profile.summary["rank"] == 1 and profile.summary["drivers"] == top["drivers"]
    assert profile.summary["hotspot"] in {"Hotspot", "Coldspot", "Niet significant", None}
    assert len(profile.indicators) > 10 and profile.history["period"].nunique() == 4
    with pytest.raises(InputError, match="niveau 'straat' bestaat niet"):
        project.scores(level="straat")
    with pytest.raises(InputError, match="BU00000000"):
        project.history("BU00000000")
