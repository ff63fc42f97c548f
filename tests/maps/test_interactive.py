"""Interactive maps on synthetic areas: embedded properties, offline/online, layer classes."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pytest
from html_parts import geojson

from riskmap.errors import InputError
from riskmap.maps.interactive import PDOK_GREY, MapLayer, layer_class, map_from_layers


def _layers(areas: gpd.GeoDataFrame) -> list[MapLayer]:
    tooltip = {"name": "Naam", "code": "Code", "score": "Score"}
    return [MapLayer("Buurten – totaalscore", areas, "score", tooltip, base=True),
            MapLayer("Buurten – drugs", areas, "score", tooltip, show=False, base=True),
            MapLayer("Hotspots (Gi*)", areas, "category", tooltip, show=False,
                     categories={"Hotspot": "#b2182b", "Coldspot": "#2166ac"})]


def test_only_tooltip_properties_are_embedded(grid_areas):
    html = map_from_layers(_layers(grid_areas), "Titel")
    collections = geojson(html)
    assert len(collections) == 3
    for collection in collections:
        assert len(collection["features"]) == len(grid_areas)
        for feature in collection["features"]:
            assert set(feature["properties"]) == {"Naam", "Code", "Score", "_kleur"}
            assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert not any(secret in html for secret in grid_areas["secret"])


def test_layers_of_the_same_areas_share_their_shapes_and_equal_columns(grid_areas):
    """Each shape, and each column of properties that several layers have (names, codes),
    is in the page once; every layer still gets all of its own."""
    layers = _layers(grid_areas)
    other = grid_areas.set_geometry(grid_areas.geometry.translate(500))  # shapes of their own
    html = map_from_layers([*layers, MapLayer("Wijken", other, "score", {"name": "Naam"})], "T")
    start = html.index("var rmShared = ") + len("var rmShared = ")
    shared = json.JSONDecoder().raw_decode(html, start)[0]
    assert sorted(name for name in shared if name.startswith("s")) == ["s0", "s1"]
    assert html.count('"coordinates"') == 2 * len(grid_areas)  # not once per layer
    names = json.dumps([f"Buurt {k}" for k in range(9)])
    assert html.count(names) == 1  # one column for the four layers' names
    collections = geojson(html)
    assert [len(c["features"]) for c in collections] == [9] * 4
    assert [f["properties"]["Naam"] for f in collections[3]["features"]] == json.loads(names)
    assert collections[0]["features"][0]["geometry"] == collections[2]["features"][0]["geometry"]


def test_coordinates_are_wgs84_rounded_to_five_decimals(grid_areas):
    html = map_from_layers(_layers(grid_areas)[:1], "Titel")
    ring = geojson(html)[0]["features"][0]["geometry"]["coordinates"][0]
    lon, lat = ring[0]
    assert 3 < lon < 8 and 50 < lat < 54
    assert all(len(str(v).split(".")[-1]) <= 5 for point in ring for v in point)


def test_offline_map_inlines_leaflet_and_loads_nothing(grid_areas):
    html = map_from_layers(_layers(grid_areas), "Titel", offline=True)
    assert "L.map(" in html and "leaflet" in html.lower()
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)\s*=\s*["']?https?://""", html)
    assert PDOK_GREY.split("{")[0] not in html


def test_online_map_adds_the_pdok_basemap_and_still_inlines_leaflet(grid_areas):
    html = map_from_layers(_layers(grid_areas), "Titel", offline=False)
    assert "service.pdok.nl/brt/achtergrondkaart" in html
    assert not re.search(r"""<script[^>]+src\s*=\s*["']?https?://""", html)


def test_missing_scores_get_the_missing_class_in_the_legend(grid_areas):
    html = map_from_layers(_layers(grid_areas)[:1], "Titel")
    assert "Geen score (te weinig gegevens)" in html
    legend = re.findall(r'class="rm-legend" data-layer="([^"]+)"', html)
    assert legend == ["Buurten – totaalscore"]


def test_hidden_layers_have_hidden_legends_and_notes_are_shown(grid_areas):
    html = map_from_layers(_layers(grid_areas), "Titel", notes=["Rasteraggregaten: niet "
                                                                "beschikbaar"])
    assert 'data-layer="Buurten – drugs" style="display:none"' in html
    assert "Rasteraggregaten: niet beschikbaar" in html


def test_layer_classes_are_ascii_slugs():
    assert layer_class("Buurten – mensenhandel en uitbuiting") == \
        "rm-buurten-mensenhandel-en-uitbuiting"
    assert layer_class("Hotspots (Gi*)") == "rm-hotspots-gi"


def test_a_map_needs_a_layer():
    with pytest.raises(InputError, match=r"geen lagen gegeven; een kaart heeft er minstens één nodig"):
        map_from_layers([], "Titel")


def test_tooltip_values_are_escaped_because_folium_inserts_them_as_html(grid_areas):
    areas = grid_areas.assign(name=['<img src="http://x.invalid/a.png">'] * len(grid_areas))
    html = map_from_layers(_layers(areas)[:1], "Titel")
    names = {f["properties"]["Naam"] for f in geojson(html)[0]["features"]}
    assert names == {"&lt;img src=&quot;http://x.invalid/a.png&quot;&gt;"}
    assert "<img" not in html


def test_features_carry_an_id_so_folium_never_keys_styles_on_a_dutch_label(grid_areas):
    layer = MapLayer("Signalen per 500 m-cel (12 mnd)", grid_areas, "score",
                     {"code": "Cel (CBS-raster)", "score": "Aantal signalen (12 mnd)"})
    html = map_from_layers([layer], "Titel")
    features = geojson(html)[0]["features"]
    assert [f["id"] for f in features] == [str(i) for i in range(len(grid_areas))]
    assert "feature.properties.Cel" not in html


def test_template_code_in_a_name_is_shown_not_run(grid_areas):
    # branca compiles every rendered part of a page as a Jinja template once more: a name from
    # a GIS layer or the configuration with {{ 7*7 }} came out as 49, and {% broke the map
    areas = grid_areas.assign(name=["Terrein {{ 7*7 }}", "Park {% kapot"] + ["Buurt"] * 7)
    layer = MapLayer("Thema {{ 6*7 }}", areas, "score",
                     {"name": "Naam {# x #}", "score": "Score"}, base=True)
    html = map_from_layers([layer], "Havenwaard {{ 5*5 }}", "Vertrouwelijk", notes=["{% raw %}"])
    assert not {"Terrein 49", "Thema 42", "Havenwaard 25"} & set(re.findall(r"\w+ \d+", html))
    properties = [f["properties"] for f in geojson(html)[0]["features"]]
    assert properties[0]["Naam &#123;# x #&#125;"] == "Terrein &#123;&#123; 7*7 &#125;&#125;"
    assert properties[1]["Naam &#123;# x #&#125;"] == "Park &#123;% kapot"
    assert "Havenwaard &#123;&#123; 5*5 &#125;&#125;" in html
    # the layer control and the legend name the layer alike (the legend follows the control)
    assert json.dumps("Thema &#123;&#123; 6*7 &#125;&#125;").replace("&", "\\u0026") in html
    assert 'data-layer="Thema &amp;#123;&amp;#123; 6*7 &amp;#125;&amp;#125;"' in html
    assert len(properties) == len(areas)  # the shapes replaced their stand-in
    assert '"riskmap"' not in html


def test_layers_of_the_same_areas_share_their_shapes_and_others_get_their_own(grid_areas,
                                                                              monkeypatch):
    from riskmap.maps import interactive
    made = []
    display = interactive.display_geometry
    monkeypatch.setattr(interactive, "display_geometry",
                        lambda areas, tolerance=2.0: made.append(len(areas)) or display(
                            areas, tolerance))
    moved = grid_areas.copy()  # the same areas elsewhere: other shapes
    moved["geometry"] = grid_areas.geometry.translate(500, 0)
    layers = [*_layers(grid_areas), MapLayer("Verschoven", moved, "score", {"name": "Naam"})]
    collections = geojson(map_from_layers(layers, "Titel"))
    assert made == [len(grid_areas), len(grid_areas)]  # once for the three, once for the moved
    shapes = [[f["geometry"] for f in c["features"]] for c in collections]
    assert shapes[0] == shapes[1] == shapes[2] != shapes[3]
    assert collections[3]["features"][0]["geometry"]["coordinates"][0][0][0] > \
        collections[0]["features"][0]["geometry"]["coordinates"][0][0][0]
