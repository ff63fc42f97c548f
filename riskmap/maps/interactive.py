"""Interactive maps (folium/Leaflet) that work offline: one self-contained HTML file.

Only what a tooltip shows is embedded per area; areas are drawn, never points. Leaflet is
inlined from the installed ``xstatic-leaflet`` package; offline maps draw no basemap tiles, so the
file makes no network request at all, and online maps only fetch the PDOK basemap.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xstatic.pkg.leaflet as xleaflet
from branca.element import Element, MacroElement
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps

from riskmap.errors import InputError
from riskmap.fmt import number
from riskmap.maps.classes import categorical, classify

PDOK_GREY = ("https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/grijs/EPSG:3857/"
             "{z}/{x}/{y}.png")
PDOK_ATTRIBUTION = "Kaartgegevens &copy; Kadaster (BRT-Achtergrondkaart)"
COORDINATE_DECIMALS = 5


@dataclass
class MapLayer:
    """One layer: areas (EPSG:28992), the column that colours them and the tooltip columns.

    A ``base`` layer is one of the mutually exclusive choropleths (a radio button in the layer
    control); other layers are overlays (check boxes). ``categories`` (value -> colour) makes a
    categorical layer; otherwise ``colour_by`` is classified with mapclassify.
    """

    name: str
    areas: gpd.GeoDataFrame
    colour_by: str
    tooltip: dict[str, str] = field(default_factory=dict)  # column -> Dutch label
    show: bool = True
    legend_title: str = "Score"
    categories: dict[str, str] | None = None
    base: bool = False
    outline: str | None = None  # a colour: draw a thick dashed border (e.g. bedrijventerreinen)
    palette: list[str] | None = None  # colours from low to high (default: the score palette)

    @property
    def class_name(self) -> str:
        """CSS class of the layer's shapes, e.g. ``rm-buurten-totaalscore``."""
        return layer_class(self.name)


def layer_class(name: str) -> str:
    """The CSS class the shapes of a layer called ``name`` carry."""
    slug = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "rm-" + re.sub(r"[^a-z0-9]+", "-", slug).strip("-")


def display_geometry(areas: gpd.GeoDataFrame, tolerance: float = 2.0) -> gpd.GeoSeries:
    """Geometry for web maps: simplified in RD (``tolerance`` metres), WGS84, rounded."""
    simplified = areas.geometry.simplify(tolerance, preserve_topology=True)
    wgs84 = simplified.to_crs("EPSG:4326")
    rounded = shapely.transform(wgs84.values, lambda xy: np.round(xy, COORDINATE_DECIMALS))
    return gpd.GeoSeries(rounded, index=areas.index, crs="EPSG:4326")


class _Features(NamedTuple):
    """A layer's areas for folium (ids and properties: what its styles are made from), the
    arguments of the page's script that makes them (:data:`_FEATURES_JS`, from what the page
    holds once: :class:`_Shared`), and its legend."""

    data: dict[str, Any]
    text: str
    legend: list[tuple[str, str]]


# Makes a layer's GeoJSON in the page: its properties by name and its shapes are named parts
# of rmShared, which the page holds once for every layer that has them (a national map has
# eight buurt layers: the same shapes, names and codes). A layer gets its features when it is
# first shown (Leaflet's "add"): a hidden layer costs the page nothing until it is chosen.
_FEATURES_JS = """function rmFeatures(columns, shapes) {
  var names = Object.keys(columns);
  return {"type": "FeatureCollection", "features": rmShared[shapes].map(function (shape, i) {
    var properties = {};
    names.forEach(function (name) { properties[name] = rmShared[columns[name]][i]; });
    return {"id": String(i), "type": "Feature", "properties": properties, "geometry": shape};
  })};
}
function rmWhenShown(layer, columns, shapes) {
  layer.once("add", function () { layer.addData(rmFeatures(columns, shapes)); });
  return {"type": "FeatureCollection", "features": []};
}"""


class _Shared:
    """What the layers of a page share, put into it once: the shapes of each set of areas as
    GeoJSON text (:func:`display_geometry`, then GEOS; the same geometry objects, kept here so
    that their ids stay theirs) and each distinct column of properties."""

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self._shapes: dict[tuple[object, ...], tuple[np.ndarray, str]] = {}
        self._columns: dict[str, str] = {}  # name by JSON text
        self.texts: dict[str, str] = {}  # JSON text by name

    def shapes(self, areas: gpd.GeoDataFrame) -> str:
        """The name of the shapes of ``areas`` (null for an area without one)."""
        geometry = areas.geometry.values
        key = (str(areas.crs), *map(id, geometry))
        if key not in self._shapes:
            name = f"s{len(self._shapes)}"
            shown = shapely.to_geojson(display_geometry(areas, self.tolerance).values).tolist()
            self.texts[name] = f"[{', '.join('null' if s is None else s for s in shown)}]"
            self._shapes[key] = (np.asarray(geometry), name)
        return self._shapes[key][1]

    def column(self, values: list[Any]) -> str:
        """The name of a column of properties (one value per area)."""
        text = json.dumps(values)
        if text not in self._columns:
            self._columns[text] = name = f"c{len(self._columns)}"
            self.texts[name] = text
        return self._columns[text]

    def script(self) -> str:
        """The page's script that holds all of it, and makes the layers from it."""
        parts = _html_safe(", ".join(f'"{name}": {text}' for name, text in self.texts.items()))
        return f"<script>\nvar rmShared = {{{parts}}};\n{_FEATURES_JS}\n</script>\n"


def _features(layer: MapLayer, shared: _Shared) -> _Features:
    column = layer.areas[layer.colour_by]
    classes = categorical(column, layer.categories) if layer.categories \
        else classify(column, palette=layer.palette)
    props = pd.DataFrame({_literal(label): layer.areas[column].map(_text)
                          for column, label in layer.tooltip.items()})
    props["_kleur"] = classes.colours
    props = props.reset_index(drop=True)
    # a feature id keeps folium from keying its style lookup on a property, whose Dutch name
    # (spaces, brackets) would break the generated JavaScript
    data = {"type": "FeatureCollection", "features": [
        {"id": str(i), "type": "Feature", "properties": p, "geometry": None}
        for i, p in enumerate(props.to_dict("records"))]}
    columns = {label: shared.column(props[label].tolist()) for label in props.columns}
    text = f"{json.dumps(columns)}, {json.dumps(shared.shapes(layer.areas))}"
    return _Features(data, text, classes.legend)


def _text(value: object) -> str:
    """A tooltip value as escaped text: folium's tooltip inserts it as HTML."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "–"
    if isinstance(value, float):
        return number(value)
    return _literal(html.escape(str(value)))


def _literal(text: str) -> str:
    """Text that goes into the map's page as it is shown. branca compiles every rendered part
    of the page as a Jinja template once more, so ``{{``, ``{%`` or ``{#`` in a name (of an
    area or a layer, from a GIS file or the configuration) would be run as template code or
    break the page; its braces become character references, which the browser shows as
    braces."""
    return text.replace("{", "&#123;").replace("}", "&#125;")


def _shown(text: str) -> str:
    """Text for the page's HTML: escaped, and its braces as :func:`_literal` makes them."""
    return _literal(html.escape(text))


def _legend_html(layer: MapLayer, legend: list[tuple[str, str]]) -> str:
    rows = "".join(f'<div><span style="background:{c}"></span>{_shown(label)}</div>'
                   for c, label in legend)
    hidden = "" if layer.show else ' style="display:none"'
    # data-layer holds the name as the layer control has it (see _add_layer)
    return (f'<div class="rm-legend" data-layer="{html.escape(_literal(layer.name))}"{hidden}>'
            f"<b>{_shown(layer.name)}</b><br><i>{_shown(layer.legend_title)}</i>"
            f"{rows}</div>")


_LEGEND_CSS = """<style>
.rm-legends{position:absolute;bottom:40px;left:10px;z-index:1000;display:flex;gap:6px;
 flex-direction:column;max-height:60%;overflow:auto}
.rm-legend{background:#fff;padding:6px 8px;font:12px/1.4 sans-serif;border-radius:4px;
 box-shadow:0 1px 4px rgba(0,0,0,.3)}
.rm-legend span{display:inline-block;width:14px;height:10px;margin-right:6px;border:1px solid #999}
.rm-title{position:absolute;top:10px;left:50px;z-index:1000;background:#fff;padding:6px 10px;
 font:bold 14px sans-serif;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);max-width:420px}
.rm-title small{display:block;font-weight:normal;color:#a00}
.rm-title ul{margin:4px 0 0;padding-left:16px;font:12px/1.3 sans-serif;color:#333}
.leaflet-tooltip{white-space:normal;min-width:380px;max-width:460px}
.leaflet-tooltip table{font:12px/1.35 sans-serif}
.leaflet-tooltip th{vertical-align:top;white-space:nowrap}
</style>"""

class _LegendToggle(MacroElement):
    """A metric scale bar, the legend of a layer shown only while the layer is on the map, and
    overlays kept above the base layer."""

    def __init__(self, control: folium.LayerControl) -> None:
        super().__init__()
        self.control = control

    _template = Template("""
{% macro script(this, kwargs) %}
(function(map){
  L.control.scale({imperial: false}).addTo(map);
  function show(name, on){
    document.querySelectorAll('.rm-legend').forEach(function(el){
      if(el.dataset.layer===name){el.style.display = on ? '' : 'none';}});
  }
  map.on('overlayadd', function(e){show(e.name, true);});
  map.on('overlayremove', function(e){show(e.name, false);});
  map.on('baselayerchange', function(e){
    document.querySelectorAll('.rm-legend[data-base]').forEach(function(el){
      el.style.display = el.dataset.layer===e.name ? '' : 'none';});
    // a new base layer is drawn on top: put the overlays that are on back above it
    Object.values({{ this.control.get_name() }}_layers.overlays).forEach(function(layer){
      if(map.hasLayer(layer)){layer.bringToFront();}});
  });
})({{ this._parent.get_name() }});
{% endmacro %}
""")


class _StandIn(MacroElement):
    """Renders a :class:`_GeoJson`'s own script with a stand-in for its shapes. A class of its
    own, after folium's GeoJson in the order of its bases, so that GeoJson's ``render`` makes
    the styles from the areas first and then reaches this one."""

    data: Any
    stand_in: dict[str, Any]

    def render(self, **kwargs: Any) -> Any:
        data, self.data = self.data, self.stand_in
        try:
            return super().render(**kwargs)
        finally:
            self.data = data


class _GeoJson(folium.GeoJson, _StandIn):
    """folium's GeoJson layer of ``features``, their shapes put into the page after the page
    is rendered (:func:`_with_shapes`): branca compiles every rendered part of a page as a
    Jinja template once more, which for the shapes is a third of a second per 10,000 areas and
    would run any template code in their names. folium makes the styles from the areas' ids
    and properties; the stand-in keeps the first area's property names, which the tooltip
    checks."""

    def __init__(self, features: _Features, **kwargs: Any) -> None:
        super().__init__(features.data, **kwargs)
        self.text = features.text
        names = features.data["features"][0]["properties"] if features.data["features"] else {}
        self.stand_in = {"type": "FeatureCollection", "riskmap": self.get_name(),
                         "features": [{"type": "Feature", "geometry": None,
                                       "properties": dict.fromkeys(names, "")}
                                      ][:len(features.data["features"])]}


def _json(value: object) -> str:
    """``value`` as folium's templates write it (Jinja's ``tojson``: sorted keys, safe in HTML)."""
    policies = folium.GeoJson._template.environment.policies
    dumps = policies["json.dumps_function"] or json.dumps
    return htmlsafe_json_dumps(value, dumps=dumps, **policies["json.dumps_kwargs"])


def _html_safe(text: str) -> str:
    """JSON text made safe to stand in a page's ``<script>`` as Jinja's ``tojson`` makes it:
    these characters occur only inside JSON strings, where their escapes mean the same."""
    for character, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                              ("'", "\\u0027")):
        text = text.replace(character, escape)
    return text


def _with_shapes(page: str, layers: Sequence[_GeoJson], shared: _Shared) -> str:
    """The rendered ``page`` with what its layers share in a script of its head
    (:class:`_Shared`) and each layer's call of it (:data:`_FEATURES_JS`) in place of its
    stand-in, in one pass over the page as rendered (small: the shapes are not in it yet)."""
    stand_ins = {_json(layer.stand_in): layer for layer in layers}
    if not stand_ins:
        return page
    for stand_in, layer in stand_ins.items():
        if page.count(stand_in) != 1:
            raise RuntimeError(f"kaart: de vormen van laag {layer.layer_name!r} zijn niet in de "
                               "pagina te zetten (andere folium-versie?)")
    if page.count("</head>") != 1:
        raise RuntimeError("kaart: de vormen zijn niet in de pagina te zetten (geen <head>)")

    def call(found: re.Match[str]) -> str:  # the layer's features, made when it is shown
        layer = stand_ins[found.group(0)]
        return _html_safe(f"rmWhenShown({layer.get_name()}, {layer.text})")

    page = re.sub("|".join(map(re.escape, stand_ins)), call, page)
    return page.replace("</head>", f"{shared.script()}</head>")


def _add_layer(fmap: folium.Map, layer: MapLayer, shared: _Shared) -> tuple[_GeoJson, str]:
    features = _features(layer, shared)
    name = _literal(layer.name)
    group = folium.FeatureGroup(name=name, show=layer.show, overlay=not layer.base)
    line = ({"color": layer.outline, "weight": 2.5, "dashArray": "6 4"} if layer.outline
            else {"color": "#555", "weight": 0.8})
    style = {**line, "fillOpacity": 0.75, "className": layer.class_name}
    # a pattern overlay (hotspots) is a thick outline over a light fill in its own colour, so
    # the score underneath stays visible and the two never look alike
    pattern = bool(layer.categories) and not layer.base
    shapes = _GeoJson(
        features, name=name,
        style_function=lambda f: {**style, "fillColor": f["properties"]["_kleur"],
                                  **({"color": f["properties"]["_kleur"], "weight": 3.5,
                                      "fillOpacity": 0.3} if pattern else {})},
        highlight_function=lambda _feature: {"weight": 2.5, "color": "#000"},
        tooltip=folium.GeoJsonTooltip(fields=[_literal(label) for label in layer.tooltip.values()],
                                      sticky=True),
    )
    shapes.add_to(group)
    group.add_to(fmap)
    html_legend = _legend_html(layer, features.legend)
    return shapes, html_legend.replace("<div ", "<div data-base ", 1) if layer.base else html_legend


def map_from_layers(layers: list[MapLayer], title: str, subtitle: str = "",
                    offline: bool = True, tolerance: float = 2.0,
                    notes: Sequence[str] = ()) -> str:
    """The HTML of a map with one toggleable layer per :class:`MapLayer`.

    Parameters
    ----------
    layers
        Base layers (one shown at a time) and overlays, in the order of the layer control.
    title, subtitle
        Shown in a box at the top of the map.
    offline
        Inline Leaflet and draw no basemap (no network request at all); otherwise add the PDOK
        BRT-Achtergrondkaart (grijs) as basemap. Leaflet is inlined either way.
    tolerance
        Simplification of the shapes in metres.
    notes
        Short Dutch lines shown under the title, e.g. which layers are not available.
    """
    if not layers:
        raise InputError("map_from_layers: geen lagen gegeven; een kaart heeft er minstens één nodig")
    bounds = pd.concat([layer.areas for layer in layers]).to_crs("EPSG:4326").total_bounds
    fmap = folium.Map(tiles=None, control_scale=False, prefer_canvas=False)
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    fmap.default_js, fmap.default_css = [], []
    _inline_leaflet(fmap)
    if not offline:
        folium.TileLayer(PDOK_GREY, attr=PDOK_ATTRIBUTION, name="BRT-Achtergrondkaart grijs",
                         max_zoom=19, control=False).add_to(fmap)
    shared = _Shared(tolerance)
    shapes, legends = zip(*(_add_layer(fmap, layer, shared) for layer in layers), strict=True)
    control = folium.LayerControl(collapsed=False)
    control.add_to(fmap)
    fmap.add_child(_LegendToggle(control))
    root = fmap.get_root()
    root.header.add_child(Element(_LEGEND_CSS))  # type: ignore[attr-defined]
    items = "".join(f"<li>{_shown(n)}</li>" for n in notes)
    root.html.add_child(Element(  # type: ignore[attr-defined]
        f'<div class="rm-title">{_shown(title)}<small>{_shown(subtitle)}</small>'
        f'{f"<ul>{items}</ul>" if items else ""}</div>'
        f'<div class="rm-legends">{"".join(legends)}</div>'))
    return _with_shapes(root.render(), shapes, shared)


def _inline_leaflet(fmap: folium.Map) -> None:
    base = Path(xleaflet.BASE_DIR)
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    css = css.replace("url(images/", "url(data:,")  # marker images are never used
    script = (base / "leaflet.js").read_text(encoding="utf-8")
    header = fmap.get_root().header  # type: ignore[attr-defined]
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline", index=0)
    header.add_child(Element(f"<script>{script}</script>"), name="leaflet_js_inline", index=1)
