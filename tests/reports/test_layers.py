"""The quarter's map layers read from the store, with and without hotspot results."""

from __future__ import annotations

import re

from html_parts import geojson, parse

from riskmap.maps.areas import score_areas
from riskmap.maps.layers import grid_layer, layers_from_store
from riskmap.reports.outputs import map_html


def _has_rows(project, table: str) -> bool:
    with project.store(read_only=True) as store:
        return bool(store.query(f"SELECT count(*) AS n FROM {table}")["n"].iloc[0])


def test_score_layers_cover_overall_themes_wijken_and_terreinen(demo_run):
    with demo_run.project.store(read_only=True) as store:
        content = layers_from_store(store, demo_run.period, demo_run.project.catalogue(), 5)
        buurten = store.areas("buurt")
    names = [layer.name for layer in content.layers]
    assert names[0] == "Buurten – totaalscore"
    assert {"Buurten – drugs", "Buurten – kwetsbaarheid", "Wijken – totaalscore",
            "Bedrijventerreinen – totaalscore"} <= set(names)
    base = [layer for layer in content.layers if layer.base]
    assert [layer.show for layer in base].count(True) == 1
    first = content.layers[0].areas
    assert len(first) == (buurten["year"] == buurten["year"].max()).sum()
    top = first.sort_values("rank").iloc[0]
    assert top["rank_text"] == f"1 van {first['score'].notna().sum()}"
    assert re.fullmatch(r"\d+–\d+", top["interval_text"])
    assert top["change_text"].endswith(("gestegen", "gedaald", "gelijk"))
    assert len(top["drivers_text"].split("; ")) == 3


def test_score_areas_are_read_once_per_open_store_and_each_caller_gets_a_copy(demo_run):
    catalogue = demo_run.project.catalogue()
    with demo_run.project.store(read_only=True) as store:
        first = score_areas(store, demo_run.period, "buurt", "drugs", catalogue)
        first.loc[first.index[0], "score_text"] = "veranderd"
        again = score_areas(store, demo_run.period, "buurt", "drugs", catalogue)
        reads = [key for key in store._cached if key[0] == "score_areas"]
    assert again.loc[again.index[0], "score_text"] != "veranderd"
    assert again.drop(columns="score_text").equals(first.drop(columns="score_text"))
    assert len(reads) == 1


def test_missing_model_results_are_named_not_drawn(demo_run):
    with demo_run.project.store(read_only=True) as store:
        content = layers_from_store(store, demo_run.period, demo_run.project.catalogue(), 5)
    names = {layer.name for layer in content.layers}
    if not _has_rows(demo_run.project, "hotspots"):
        assert "Hotspots (Gi*)" not in names
        assert any(note.startswith("Hotspots (Gi*): niet beschikbaar") for note in content.notes)
    if not _has_rows(demo_run.project, "emerging_hotspots"):
        assert any(note.startswith("Opkomende hotspots: niet beschikbaar")
                   for note in content.notes)


def test_hotspot_layers_draw_only_significant_buurten(project_copy, planted, demo_run):
    with project_copy.quarter_output(demo_run.period) as q:
        content = layers_from_store(q.store, q.period, q.catalogue, 5)
        html = map_html(q)
    layers = {layer.name: layer for layer in content.layers}
    hot = layers["Hotspots (Gi*)"].areas
    assert sorted(hot["code"]) == sorted(planted)
    assert set(hot["category"]) == {"Hotspot"}
    emerging = layers["Opkomende hotspots"].areas
    assert set(emerging["category"]) == {"Nieuwe hotspot", "Aanhoudende hotspot",
                                         "Toenemende hotspot"}
    assert not any("Hotspots (Gi*): niet beschikbaar" in n for n in content.notes)
    sizes = [len(c["features"]) for c in geojson(html)]
    assert len(planted) in sizes and 3 in sizes
    assert "Significant na FDR-correctie" in html


def test_offline_map_loads_nothing_from_the_network(demo_output):
    """The map page has no http(s) URL in any src, href or CSS url() it would load."""
    page = parse((demo_output / "kaart.html").read_text(encoding="utf-8"))
    assert not [url for url in page.urls if re.match(r"\s*(https?:)?//", url, re.IGNORECASE)]
    html = (demo_output / "kaart.html").read_text(encoding="utf-8")
    assert "service.pdok.nl" not in html
    assert not re.search(r"<(script|link)\b[^>]*\b(src|href)=", html)


def test_grid_layer_draws_only_cells_with_at_least_five_signals(demo_run):
    with demo_run.project.store(read_only=True) as store:
        layer = grid_layer(store, demo_run.period, 5)
    assert layer is not None and not layer.show
    assert (layer.areas["aantal"] >= 5).all()
    assert layer.areas.geom_type.eq("Polygon").all()
    assert set(layer.tooltip.values()) == {"Cel (CBS-raster)", "Aantal signalen (12 mnd)"}
    assert layer.areas.area.round().eq(500 * 500).all()
