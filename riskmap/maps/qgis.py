"""QGIS layer styles (QML) for the GeoPackage export, in the colours of riskmap's own maps.

A GeoPackage carries its styles in a ``layer_styles`` table, which QGIS reads when a layer is
added (the style with ``useAsDefault = 1`` is applied, the others are listed under *Styles*).
The table's columns are those QGIS itself creates when it saves a style to a GeoPackage
(``QgsOgrProviderMetadata::saveStyle``: a non-spatial layer with FID ``id``, ``f_table_catalog``,
``f_table_schema``, ``f_table_name``, ``f_geometry_column``, ``styleName``, ``styleQML``,
``styleSLD``, ``useAsDefault``, ``description``, ``owner``, ``ui``, ``update_time``).
The QML uses QGIS's ``renderer-v2`` element: ``graduatedSymbol`` with ``ranges`` for scores,
``categorizedSymbol`` with ``categories`` for hotspot patterns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from xml.sax.saxutils import quoteattr

import pandas as pd

from riskmap.maps.classes import MISSING_COLOUR, bins_and_labels

QGIS_VERSION = "3.28.0-Firenze"  # the oldest long-term release whose QML this matches
OUTLINE = "102,102,102,255"


def _rgba(colour: str) -> str:
    colour = colour.lstrip("#")
    return ",".join(str(int(colour[i:i + 2], 16)) for i in (0, 2, 4)) + ",255"


def _fill(name: str, colour: str) -> str:
    options = {"color": _rgba(colour), "outline_color": OUTLINE, "outline_style": "solid",
               "outline_width": "0.26", "outline_width_unit": "MM", "style": "solid"}
    props = "".join(f'<Option type="QString" name="{k}" value="{v}"/>' for k, v in options.items())
    return (f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
            f'<Option type="Map">{props}</Option></layer></symbol>')


def _document(renderer: str) -> str:
    return (f"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology">{renderer}</qgis>\n')


def graduated_qml(values: pd.Series, column: str, palette: list[str]) -> str:
    """A graduated style of ``column``: the classes and colours of riskmap's maps (quantiles
    of ``values``); areas without a value are drawn grey by an extra category-less symbol."""
    ranges, symbols = [], []
    for i, (lower, upper, label, colour) in enumerate(bins_and_labels(values, palette)):
        ranges.append(f'<range symbol="{i}" lower="{lower:.6f}" upper="{upper:.6f}" '
                      f'label={quoteattr(label)} render="true"/>')
        symbols.append(_fill(str(i), colour))
    renderer = (f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(column)} '
                f'graduatedMethod="GraduatedColor" symbollevels="0" forceraster="0" '
                f'enableorderby="0"><ranges>{"".join(ranges)}</ranges>'
                f'<symbols>{"".join(symbols)}</symbols></renderer-v2>')
    return _document(renderer)


def categorized_qml(column: str, colours: dict[str, str], other: str) -> str:
    """A categorized style of ``column``: one colour per value (``colours``), the rest drawn
    grey under the label ``other``."""
    entries = [*colours.items(), ("", MISSING_COLOUR)]
    categories = "".join(
        f'<category symbol="{i}" value={quoteattr(value)} '
        f'label={quoteattr(value or other)} render="true"/>' for i, (value, _) in enumerate(entries))
    symbols = "".join(_fill(str(i), colour) for i, (_, colour) in enumerate(entries))
    renderer = (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(column)} '
                f'symbollevels="0" forceraster="0" enableorderby="0">'
                f'<categories>{categories}</categories><symbols>{symbols}</symbols>'
                f'</renderer-v2>')
    return _document(renderer)


def layer_styles(styles: Sequence[tuple[str, str, str, bool]],
                 geometry_column: str = "geom") -> pd.DataFrame:
    """Rows of the ``layer_styles`` table: one per ``(layer, style name, QML, default)``."""
    now = datetime.now().replace(microsecond=0)
    return pd.DataFrame({
        "f_table_catalog": "", "f_table_schema": "",
        "f_table_name": [layer for layer, _, _, _ in styles],
        "f_geometry_column": geometry_column,
        "styleName": [name[:30] for _, name, _, _ in styles],
        "styleQML": [qml for _, _, qml, _ in styles], "styleSLD": "",
        "useAsDefault": [default for _, _, _, default in styles],
        "description": [f"riskmap: {name}" for _, name, _, _ in styles],
        "owner": "", "ui": "", "update_time": now,
    })
