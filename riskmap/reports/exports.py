"""Exports for the tools analysts already use: a GeoPackage per quarter for QGIS and a long
history table over all built quarters for Power BI (Parquet and CSV).

The GeoPackage ``riskmap_2025Q3.gpkg`` holds one layer of overall and theme scores per level
(``scores_buurt``, ``scores_wijk``, ``scores_bedrijventerrein``) and, once computed,
``hotspots_buurt`` and ``opkomende_hotspots_buurt``, in EPSG:28992, each with QGIS styles in the
colours of riskmap's maps in its ``layer_styles`` table (one per score column; the overall score
is the default). The history table ``historie.parquet`` / ``historie.csv`` (in the output folder,
over all quarters) has one row per area, quarter and indicator or score, with the indices
against the gemeente and Nederland. Values hidden by the privacy rules stay empty. Everything is
written through :mod:`riskmap.indicators.privacy`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from riskmap.indicators.build import OVERALL
from riskmap.indicators.catalogue import THEME_LABELS, Indicator
from riskmap.indicators.privacy import display_values, write_csv_and_parquet, write_layers
from riskmap.maps.areas import latest_areas, levels_scored, score_areas, themes_scored
from riskmap.maps.classes import PALETTE
from riskmap.maps.patterns import (
    EMERGING_COLOURS,
    HOTSPOT_COLOURS,
    NO_PATTERN,
    NOT_SIGNIFICANT,
    emerging_areas,
    hotspot_areas,
)
from riskmap.maps.qgis import categorized_qml, graduated_qml, layer_styles
from riskmap.reports.quarter import QuarterOutput
from riskmap.store import Store

log = logging.getLogger(__name__)

HISTORY_NAME = "historie"
SCORE_COLUMNS = {"code": "code", "name": "naam", "score": "totaalscore", "rank": "rang",
                 "rank_low": "rang_p5", "rank_high": "rang_p95", "change": "verandering",
                 "rank_change": "rangverandering", "from_suppressed": "uit_onderdrukt"}
HISTORY_HEADERS = {
    "code": "Code", "name": "Naam", "level": "Niveau", "period": "Kwartaal", "kind": "Soort",
    "key": "Kenmerk", "label": "Omschrijving", "theme": "Thema", "value": "Waarde",
    "rank": "Rang", "index_gemeente": "Index (gemeente = 100)",
    "index_nl": "Index (Nederland = 100)",
}
KIND_LABELS = {"score": "score", "indicator": "indicator"}


def geopackage_path(q: QuarterOutput) -> Path:
    """Where the quarter's GeoPackage goes."""
    return q.folder / f"riskmap_{q.period}.gpkg"


def _theme_column(theme: str) -> str:
    return f"score_{theme}"


def score_layer(q: QuarterOutput, level: str) -> gpd.GeoDataFrame:
    """The overall and theme scores of ``level`` per area, with short Dutch column names."""
    overall = score_areas(q.store, q.period, level, OVERALL, q.catalogue)
    layer = overall[[*SCORE_COLUMNS, "geometry"]].rename(columns=SCORE_COLUMNS)
    layer["factoren"] = overall["drivers_text"].where(overall["score"].notna(), "")
    for theme in themes_scored(q.store, q.period, level):
        scores = score_areas(q.store, q.period, level, theme, q.catalogue)
        layer[_theme_column(theme)] = layer["code"].map(scores.set_index("code")["score"])
    layer["uit_onderdrukt"] = layer["uit_onderdrukt"].astype("boolean")
    layer["rang"] = layer["rang"].astype("Int64")
    layer["rangverandering"] = layer["rangverandering"].astype("Int64")
    return gpd.GeoDataFrame(layer, geometry="geometry", crs=overall.crs)


def _score_styles(name: str, layer: gpd.GeoDataFrame) -> list[tuple[str, str, str, bool]]:
    columns = ["totaalscore", *(c for c in layer.columns if c.startswith("score_"))]
    return [(name, THEME_LABELS.get(c.removeprefix("score_"), "Totaalscore"),
             graduated_qml(layer[c], c, PALETTE), c == "totaalscore") for c in columns]


def _pattern_layer(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    layer = frame[["code", "name", "category", "detail_text", "geometry"]].rename(
        columns={"name": "naam", "category": "categorie", "detail_text": "toelichting"})
    return gpd.GeoDataFrame(layer, geometry="geometry", crs=frame.crs)


def pattern_layers(q: QuarterOutput) -> dict[str, tuple[gpd.GeoDataFrame, str]]:
    """Gi* and emerging hotspots per buurt (when computed) with their QML styles."""
    out = {}
    hotspots = hotspot_areas(q.store, q.period)
    if hotspots is not None:
        out["hotspots_buurt"] = (_pattern_layer(hotspots), categorized_qml(
            "categorie", HOTSPOT_COLOURS, f"{NOT_SIGNIFICANT} of niet geanalyseerd"))
    emerging = emerging_areas(q.store, q.period)
    if emerging is not None:
        out["opkomende_hotspots_buurt"] = (_pattern_layer(emerging), categorized_qml(
            "categorie", EMERGING_COLOURS, f"{NO_PATTERN} of niet geanalyseerd"))
    return out


def write_geopackage(q: QuarterOutput) -> Path:
    """Write the quarter's GeoPackage with QGIS styles (see the module docstring)."""
    layers: dict[str, gpd.GeoDataFrame] = {}
    styles: list[tuple[str, str, str, bool]] = []
    for level in levels_scored(q.store, q.period):
        name = f"scores_{level}"
        layers[name] = score_layer(q, level)
        styles += _score_styles(name, layers[name])
    for name, (layer, qml) in pattern_layers(q).items():
        layers[name] = layer
        styles.append((name, "Patroon", qml, True))
    return write_layers(layers, layer_styles(styles), geopackage_path(q), q.guard)


def history_table(store: Store, catalogue: list[Indicator],
                  codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Every score and indicator value of every built quarter, one row per area, quarter and
    score or indicator (long form, for Power BI), values as the privacy rules show them.

    Columns: ``code, name, level, period, kind`` (``score`` or ``indicator``), ``key`` (theme,
    ``totaal`` or indicator id), ``label``, ``theme``, ``value``, ``rank`` (scores),
    ``index_gemeente`` and ``index_nl`` (indicators; gemeente = 100, Nederland = 100).
    """
    where = "" if codes is None else f" WHERE area_code IN ({','.join('?' * len(codes))})"
    params = list(codes or [])
    scores = store.query(f"SELECT area_code AS code, level, period, theme AS key, score AS "
                         f"value, rank FROM scores{where}", params)
    values = store.query(f"SELECT area_code AS code, level, period, indicator AS key, value, "
                         f"suppressed, index_gemeente, index_nl FROM indicator_values{where}",
                         params)
    by_id = {i.id: i for i in catalogue}
    shown = display_values(values)
    hidden = values["suppressed"].astype(bool)
    indicators = values.assign(
        kind="indicator", value=shown,
        label=_per_key(values["key"], lambda k: by_id[k].label if k in by_id else k),
        theme=_per_key(values["key"], lambda k: THEME_LABELS.get(by_id[k].themes[0], "")
                       if k in by_id else ""),
        index_gemeente=values["index_gemeente"].mask(hidden),
        index_nl=values["index_nl"].mask(hidden)).drop(columns="suppressed")
    scores = scores.assign(kind="score", label=_per_key(
        scores["key"],
        lambda k: "Totaalscore" if k == OVERALL else f"Score {str(THEME_LABELS.get(k, k)).lower()}"),
        theme=_per_key(scores["key"], lambda k: THEME_LABELS.get(k, "")))
    long = pd.concat([scores, indicators], ignore_index=True)
    names = pd.concat([latest_areas(store, level)[["code", "name"]]
                       for level in long["level"].unique()]) if not long.empty else \
        pd.DataFrame(columns=["code", "name"])
    long["name"] = long["code"].map(names.drop_duplicates("code").set_index("code")["name"])
    long["rank"] = long["rank"].astype("Int64")
    return long[list(HISTORY_HEADERS)].sort_values(
        ["level", "code", "period", "kind", "key"], ignore_index=True)


def _per_key(keys: pd.Series, text: Callable[[str], str]) -> pd.Series:
    """``text`` of each key, computed once per distinct key (a national history has hundreds
    of thousands of rows and a few dozen keys)."""
    return keys.map({key: text(key) for key in keys.unique()})


def write_history(q: QuarterOutput) -> dict[str, Path]:
    """Write ``historie.parquet`` and ``historie.csv`` (Dutch headers) over all built quarters
    to the project's output folder."""
    table = history_table(q.store, q.catalogue)
    table = table.assign(kind=table["kind"].map(KIND_LABELS)).rename(columns=HISTORY_HEADERS)
    csv, parquet = write_csv_and_parquet(table, q.output_root / f"{HISTORY_NAME}.csv",
                                         q.output_root / f"{HISTORY_NAME}.parquet", q.guard)
    return {"historie_parquet": parquet, "historie_csv": csv}


def write_exports(q: QuarterOutput) -> dict[str, Path]:
    """Write the GeoPackage of the quarter and the history table; returns the paths by name."""
    paths = {"geopackage": write_geopackage(q), **write_history(q)}
    log.debug("exports %s: %s", q.period, ", ".join(str(p) for p in paths.values()))
    return paths

