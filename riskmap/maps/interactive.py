"""Interactive maps (folium/Leaflet) that work offline: one self-contained HTML file.

Only what a tooltip shows is embedded per area; areas are drawn, never points. Offline maps
inline Leaflet from the installed ``xstatic-leaflet`` package and use no tiles, so the file
makes no network request at all.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xstatic.pkg.leaflet as xleaflet
from branca.element import Element

from riskmap.maps.classes import classify

PDOK_GREY = ("https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/grijs/EPSG:3857/"
             "{z}/{x}/{y}.png")
PDOK_ATTRIBUTION = "Kaartgegevens &copy; Kadaster (BRT-Achtergrondkaart)"
COORDINATE_DECIMALS = 5


@dataclass
class MapLayer:
    """One layer: areas (EPSG:28992), the column that colours them and the tooltip columns."""

    name: str
    areas: gpd.GeoDataFrame
    colour_by: str
    tooltip: dict[str, str] = field(default_factory=dict)  # column -> Dutch label
    show: bool = True
    legend_title: str = "Score"


def display_geometry(areas: gpd.GeoDataFrame, tolerance: float = 2.0) -> gpd.GeoSeries:
    """Geometry for web maps: simplified in RD (``tolerance`` metres), WGS84, rounded."""
    simplified = areas.geometry.simplify(tolerance, preserve_topology=True)
    wgs84 = simplified.to_crs("EPSG:4326")
    rounded = shapely.transform(wgs84.values, lambda xy: np.round(xy, COORDINATE_DECIMALS))
    return gpd.GeoSeries(rounded, index=areas.index, crs="EPSG:4326")


def _features(layer: MapLayer, tolerance: float) -> dict[str, object]:
    classes = classify(layer.areas[layer.colour_by])
    props = pd.DataFrame({label: layer.areas[column].map(_text)
                          for column, label in layer.tooltip.items()})
    props["_kleur"] = classes.colours
    frame = gpd.GeoDataFrame(props, geometry=display_geometry(layer.areas, tolerance))
    data = json.loads(frame.to_json(drop_id=True))
    data["legend"] = classes.legend
    return data


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def _legend_html(title: str, legend: list[tuple[str, str]], layer: str) -> str:
    rows = "".join(f'<div><span style="background:{c}"></span>{html.escape(label)}</div>'
                   for c, label in legend)
    return (f'<div class="rm-legend" data-layer="{html.escape(layer)}"><b>{html.escape(layer)}'
            f"</b><br><i>{html.escape(title)}</i>{rows}</div>")


_LEGEND_CSS = """<style>
.rm-legends{position:absolute;bottom:18px;left:10px;z-index:1000;display:flex;gap:6px;
 flex-direction:column;max-height:70%;overflow:auto}
.rm-legend{background:#fff;padding:6px 8px;font:12px/1.4 sans-serif;border-radius:4px;
 box-shadow:0 1px 4px rgba(0,0,0,.3)}
.rm-legend span{display:inline-block;width:14px;height:10px;margin-right:6px;border:1px solid #999}
.rm-title{position:absolute;top:10px;left:50px;z-index:1000;background:#fff;padding:6px 10px;
 font:bold 14px sans-serif;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3)}
.rm-title small{display:block;font-weight:normal;color:#a00}
</style>"""


def map_from_layers(layers: list[MapLayer], title: str, subtitle: str = "",
                    offline: bool = True, tolerance: float = 2.0) -> str:
    """The HTML of a map with one toggleable layer per :class:`MapLayer`."""
    bounds = pd.concat([layer.areas for layer in layers]).to_crs("EPSG:4326").total_bounds
    fmap = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    if offline:
        fmap.default_js, fmap.default_css = [], []
        _inline_leaflet(fmap)
    else:
        folium.TileLayer(PDOK_GREY, attr=PDOK_ATTRIBUTION, name="BRT-Achtergrondkaart grijs",
                         max_zoom=19).add_to(fmap)
    legends = []
    for layer in layers:
        data = _features(layer, tolerance)
        legend = data.pop("legend")
        group = folium.FeatureGroup(name=layer.name, show=layer.show)
        folium.GeoJson(
            data, name=layer.name,
            style_function=lambda f: {"fillColor": f["properties"]["_kleur"], "color": "#555",
                                      "weight": 0.8, "fillOpacity": 0.75},
            highlight_function=lambda _feature: {"weight": 2.5, "color": "#000"},
            tooltip=folium.GeoJsonTooltip(fields=list(layer.tooltip.values()), sticky=True),
        ).add_to(group)
        group.add_to(fmap)
        legends.append(_legend_html(layer.legend_title, legend, layer.name))  # type: ignore[arg-type]
    folium.LayerControl(collapsed=False).add_to(fmap)
    root = fmap.get_root()
    root.header.add_child(Element(_LEGEND_CSS))  # type: ignore[attr-defined]
    root.html.add_child(Element(  # type: ignore[attr-defined]
        f'<div class="rm-title">{html.escape(title)}<small>{html.escape(subtitle)}</small></div>'
        f'<div class="rm-legends">{"".join(legends)}</div>'))
    return root.render()


def _inline_leaflet(fmap: folium.Map) -> None:
    base = Path(xleaflet.BASE_DIR)
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    css = css.replace("url(images/", "url(data:,")  # marker images are never used
    script = (base / "leaflet.js").read_text(encoding="utf-8")
    header = fmap.get_root().header  # type: ignore[attr-defined]
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline", index=0)
    header.add_child(Element(f"<script>{script}</script>"), name="leaflet_js_inline", index=1)
