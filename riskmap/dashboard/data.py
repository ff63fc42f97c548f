"""What the dashboard embeds: areas, and per quarter their scores, indicators and hotspot status.

Everything comes from :mod:`riskmap.reports.history` (values as they may be shown) and
:mod:`riskmap.reports.comparison` (public CBS figures). Per quarter and level the data is
columnar: one array per measure, in the order of that level's areas. An indicator value that is
not shown is the marker ``"k"`` (count below the minimum) or ``"n"`` (denominator too small), or
``null``; its raw value is not in the file.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from riskmap.areatypes import analysis_levels, area_types, level_label
from riskmap.errors import StoreError
from riskmap.fmt import long_date
from riskmap.indicators.build import OVERALL
from riskmap.indicators.catalogue import THEME_LABELS, Indicator
from riskmap.indicators.privacy import public_table
from riskmap.indicators.values import SMALL_COUNT, SMALL_DENOMINATOR
from riskmap.maps.interactive import display_geometry
from riskmap.periods import Period
from riskmap.reports.comparison import URBANITY_LABELS, compare_gemeente, is_cbs_based
from riskmap.reports.content import lineage_rows, suppression_lines
from riskmap.reports.history import (
    built_periods,
    hidden_cells,
    indicator_history,
    pattern_history,
    score_history,
)
from riskmap.store import Store

from . import charts, texts

log = logging.getLogger(__name__)

REASON_MARKS = {SMALL_COUNT: "k", SMALL_DENOMINATOR: "n"}
MARKS = frozenset(REASON_MARKS.values())
HOTSPOTS = ["Hotspot", "Coldspot", "Niet significant"]
EMERGING = ["Nieuwe hotspot", "Toenemende hotspot", "Aanhoudende hotspot", "Sporadische hotspot",
            "Afnemende hotspot", "Voormalige hotspot", "Geen patroon"]
FINE_TOLERANCE, COARSE_TOLERANCE = 2.0, 20.0  # metres; coarse above COARSE_FROM buurten
COARSE_FROM = 2_000


@dataclass
class DashboardData:
    """The JSON texts the page embeds: ``meta``, one per level of areas, one per quarter."""

    meta: dict[str, Any]
    geo: dict[str, str] = field(default_factory=dict)
    quarters: dict[str, str] = field(default_factory=dict)


def dumps(value: Any) -> str:
    """Compact JSON (no NaN: missing is ``null``)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _numbers(values: Iterable[Any], decimals: int | None) -> list[Any]:
    """Numbers rounded for the page (``decimals=None``: whole numbers); missing -> ``None``."""
    if isinstance(values, pd.Series) and values.dtype.kind in "iuf":  # numbers already
        array = values.to_numpy(dtype=float, na_value=np.nan)
    elif isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        array = values.astype(float)
    else:
        array = pd.to_numeric(pd.Series(list(values), dtype=object),
                              errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(array)
    if decimals is None:
        out = np.where(missing, 0, np.round(array)).astype(np.int64).astype(object)
    else:
        out = np.round(array, decimals).astype(object)
    out[missing] = None
    return list(out.tolist())


def _decimals(values: pd.Series) -> int:
    """Decimals that keep about three significant digits of typical values."""
    typical = values.abs().median()
    if pd.isna(typical) or typical < 10:
        return 2
    return 1 if typical < 1000 else 0


def page_levels() -> tuple[str, ...]:
    """The levels with scores, in the page's order: wijk, buurt, then the analysis-area types
    of ``config/area_types.yaml`` (read when called, so a new type needs no code here)."""
    return ("wijk", "buurt", *analysis_levels())


def latest_areas(store: Store) -> dict[str, pd.DataFrame]:
    """Per level the areas of its latest boundary year (code order): code, name, wijk,
    gemeente and geometry (EPSG:28992)."""
    areas = store.areas()
    out = {}
    for level in ("gemeente", *page_levels()):
        part = areas[areas["level"] == level]
        if not part.empty:
            part = part[part["year"] == part["year"].max()].sort_values("code")
            out[level] = part.reset_index(drop=True)
    return out


def geo_json(areas: pd.DataFrame, tolerance: float) -> str:
    """One level's areas as JSON: codes, names, parents and GeoJSON geometries (WGS84)."""
    shapes = display_geometry(areas, tolerance)
    kinds = shapely.get_type_id(shapes.values)
    polygons = np.isin(kinds, [3, 6]) & ~shapely.is_empty(shapes.values)
    if not polygons.all():
        log.warning("dashboard: %d gebieden zonder tekenbare grens niet op de kaart",
                    int((~polygons).sum()))
    geometry = [g if ok else "null" for g, ok in
                zip(shapely.to_geojson(shapes.values).tolist(), polygons, strict=True)]
    head = dumps({column: [v if isinstance(v, str) else None for v in areas[key]]
                  for column, key in (("codes", "code"), ("names", "name"), ("wijk", "wijk"),
                                      ("gemeente", "gemeente"))})
    return head[:-1] + ',"geometry":[' + ",".join(geometry) + "]}"


def _wide(frame: pd.DataFrame, columns: str, values: str, codes: pd.Index) -> pd.DataFrame:
    """One measure as a table of areas (``codes``, in order) by ``columns``."""
    return frame.pivot(index="code", columns=columns, values=values).reindex(codes)


def _score_block(codes: pd.Index, scores: pd.DataFrame,
                 indicator_ids: list[str]) -> dict[str, Any]:
    block: dict[str, Any] = {}
    for key, column, decimals in (("score", "score", 1), ("rank", "rank", None),
                                  ("change", "change", 1)):
        wide = _wide(scores, "theme", column, codes)
        block[key] = {str(t): _numbers(wide[t], decimals) for t in wide.columns}
    overall = scores[scores["theme"] == OVERALL].set_index("code").reindex(codes)
    if not overall["theme"].notna().any():
        return block
    position = {i: n for n, i in enumerate(indicator_ids)}
    block["rankLow"] = _numbers(overall["rank_low"], None)
    block["rankHigh"] = _numbers(overall["rank_high"], None)
    block["rankChange"] = _numbers(overall["rank_change"], None)
    block["fromSuppressed"] = [1 if f is True else 0 for f in overall["from_suppressed"]]
    block["drivers"] = [[position[d] for d in ds if d in position] if isinstance(ds, list) else []
                        for ds in overall["drivers"]]
    return block


def _indicator_block(codes: pd.Index, indicators: pd.DataFrame,
                     decimals: dict[str, int]) -> dict[str, Any]:
    wide = indicators.pivot(index="code", columns="indicator",
                            values=["value", "index_gemeente", "index_nl"]).reindex(codes)
    ids = wide["value"].columns
    values, index_gemeente, index_nl = (wide[part].to_numpy(dtype=float) for part in
                                        ("value", "index_gemeente", "index_nl"))
    marks = _wide(indicators.assign(mark=indicators["reason"].map(REASON_MARKS)), "indicator",
                  "mark", codes).reindex(columns=ids).to_numpy(dtype=object)
    block: dict[str, Any] = {"value": {}, "indexGemeente": {}, "indexNl": {}}
    for j, indicator in enumerate(ids):
        shown = _numbers(values[:, j], decimals.get(str(indicator), 2))
        block["value"][indicator] = [v if v is not None else (m if isinstance(m, str) else None)
                                     for v, m in zip(shown, marks[:, j], strict=True)]
        block["indexGemeente"][indicator] = _numbers(index_gemeente[:, j], None)
        if not np.isnan(index_nl[:, j]).all():
            block["indexNl"][indicator] = _numbers(index_nl[:, j], None)
    return block


def _pattern_block(codes: pd.Index, patterns: pd.DataFrame) -> dict[str, Any]:
    rows = patterns.set_index("code").reindex(codes)
    return {"hotspot": [HOTSPOTS.index(h) if h in HOTSPOTS else None for h in rows["hotspot"]],
            "z": _numbers(rows["z"], 2), "q": _numbers(rows["q_value"], 3),
            "emerging": [EMERGING.index(e) if e in EMERGING else None for e in rows["emerging"]]}


def quarter_json(period: str, areas: dict[str, pd.DataFrame],
                 parts: dict[str, dict[tuple[str, str], pd.DataFrame]],
                 indicator_ids: list[str], decimals: dict[str, int]) -> str:
    """The JSON of one quarter: per scored level its columnar arrays, in area order.

    ``parts`` holds the indicator, score and pattern rows by ``(period, level)``.
    """
    out = {}
    for level in page_levels():
        if level not in areas:
            continue
        codes = pd.Index(areas[level]["code"])
        block: dict[str, Any] = {}
        if (period, level) in parts["scores"]:
            block |= _score_block(codes, parts["scores"][(period, level)], indicator_ids)
        if (period, level) in parts["indicators"]:
            block |= _indicator_block(codes, parts["indicators"][(period, level)], decimals)
        if (period, level) in parts["patterns"]:
            block |= _pattern_block(codes, parts["patterns"][(period, level)])
        if block:
            out[level] = block
    return dumps(packed(out))


PACKED = "\u0001"  # starts a list written as one string (:func:`packed`, ``unpack`` in the page)


def _packable(items: list[Any]) -> bool:
    """Only finite numbers, ``None`` and marks: a NaN or infinity stays in the list, so that
    :func:`dumps` refuses it as it did before packing."""
    return bool(items) and all(
        v is None or (isinstance(v, str) and v in MARKS)
        or (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v))
        for v in items)


def _item(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else repr(value)
    return text[:-2] if text.endswith(".0") else text


def packed(value: Any) -> Any:
    """``value`` with every non-empty list of numbers, ``None`` and marks written as one string:
    the items joined by ``,``, ``None`` left empty, after :data:`PACKED`. A national dashboard
    is a third smaller without the ``null``s and quotes; the page unpacks the lists on reading."""
    if isinstance(value, dict):
        return {k: packed(v) for k, v in value.items()}
    if isinstance(value, list) and _packable(value):
        return PACKED + ",".join(_item(v) for v in value)
    return value


def unpack(value: Any) -> Any:
    """The inverse of :func:`packed` (as the page does it)."""
    if isinstance(value, dict):
        return {k: unpack(v) for k, v in value.items()}
    if isinstance(value, str) and value.startswith(PACKED):
        return [None if t == "" else t if t in MARKS else float(t) if "." in t or "e" in t
                else int(t) for t in value[1:].split(",")]
    return value


def _indicator_meta(catalogue: list[Indicator], present: set[str]) -> list[dict[str, Any]]:
    return [{"id": i.id, "label": i.label, "unit": i.unit, "themes": list(i.themes),
             "levels": list(i.levels), "source": texts.SOURCE_LABELS.get(i.source, i.source),
             "cbs": is_cbs_based(i), "higher": i.direction > 0, "rationale": i.rationale}
            for i in catalogue if i.id in present]


def _theme_meta(scores: pd.DataFrame, catalogue: list[Indicator]) -> list[dict[str, Any]]:
    present = set(scores["theme"])
    order = [OVERALL, *[t for t in THEME_LABELS if t != OVERALL]]
    themes = []
    for theme in [t for t in order if t in present]:
        levels = [lv for lv in page_levels()
                  if ((scores["theme"] == theme) & (scores["level"] == lv)).any()]
        members = [i.id for i in catalogue if theme == OVERALL or theme in i.themes]
        themes.append({"id": theme, "label": THEME_LABELS.get(theme, theme),
                       "description": texts.THEME_DESCRIPTIONS.get(theme, ""),
                       "levels": levels, "indicators": members})
    return themes


def area_type_meta(areas: dict[str, pd.DataFrame]) -> list[dict[str, str]]:
    """The analysis-area types with areas, in configuration order: level key, Dutch names and
    the one-line note of ``config/area_types.yaml`` (the page draws one overlay, legend and
    filter per type from these, and names the type in search results and profiles)."""
    return [{"id": t.key, "label": t.label, "plural": t.plural, "note": t.note}
            for t in area_types().values() if t.key in areas]


def _comparison_meta(store: Store, catalogue: list[Indicator], period: Period,
                     gemeente: str) -> dict[str, Any]:
    comparison = compare_gemeente(store, catalogue, period, gemeente)
    gemeenten = comparison.gemeenten
    return {
        "basis": comparison.basis, "year": comparison.year,
        "gemeenten": [{"code": r.code, "name": r.name if isinstance(r.name, str) else r.code,
                       "role": r.role, "inhabitants": _numbers([r.inhabitants], None)[0],
                       "urbanity": URBANITY_LABELS.get(int(r.urbanity), None)
                       if pd.notna(r.urbanity) else None}
                      for r in gemeenten.itertuples()],
        "values": {ind: {r.code: round(float(r.value), 2) for r in part.itertuples()}
                   for ind, part in comparison.values.groupby("indicator")},
    }


def dashboard_data(store: Store, catalogue: list[Indicator], gemeente: str, place: str,
                   min_count: int, tolerance: float | None = None) -> DashboardData:
    """Everything the dashboard shows, from the store, through the privacy module.

    Parameters
    ----------
    gemeente, place
        The project's gemeente code and the name reports show.
    min_count
        The privacy minimum (for the Dutch lines on what is not shown).
    tolerance
        Simplification of the area outlines in metres; by default 2 m, or 20 m for more than
        2,000 buurten.
    """
    periods: Sequence[Period] = built_periods(store)
    if not periods:
        raise StoreError(f"{store.path}: nog geen kwartaal berekend; draai eerst "
                         f"`riskmap build --period ...`")
    areas = latest_areas(store)
    indicators = indicator_history(store, periods)
    scores = score_history(store, periods, hidden=hidden_cells(indicators))
    patterns = pd.concat([pattern_history(store, periods, level) for level in page_levels()],
                         ignore_index=True)
    public_table(indicators, "dashboard (indicatoren)")
    public_table(scores, "dashboard (scores)")
    present = set(indicators["indicator"])
    indicator_meta = _indicator_meta(catalogue, present)
    ids = [i["id"] for i in indicator_meta]
    decimals = {i: _decimals(part["value"].dropna())
                for i, part in indicators.groupby("indicator")}
    if tolerance is None:
        many = len(areas.get("buurt", [])) > COARSE_FROM
        tolerance = COARSE_TOLERANCE if many else FINE_TOLERANCE
    latest = periods[-1]
    bounded = bool(scores["score"].dropna().between(0, 100).all())
    themes = _theme_meta(scores, catalogue)
    meta = {
        "place": place, "gemeente": gemeente, "generated": long_date(pd.Timestamp.now().date()),
        "periods": [str(p) for p in periods], "latest": str(latest),
        "levels": [{"id": lv, "label": level_label(lv), "plural": level_label(lv, plural=True),
                    "areas": len(areas[lv])} for lv in areas],
        "areaTypes": area_type_meta(areas),
        "themes": themes, "indicators": indicator_meta, "decimals": decimals,
        "bounded": bounded, "hotspots": HOTSPOTS, "emerging": EMERGING,
        "comparison": _comparison_meta(store, catalogue, latest, gemeente),
        "privacy": suppression_lines(store, latest, min_count), "method": texts.METHOD_LINES,
        "sources": lineage_rows(store, latest).to_dict(orient="records"),
        "specs": charts.chart_specs([t["label"] for t in themes], bounded),
    }
    data = DashboardData(meta)
    data.geo = {level: geo_json(frame, tolerance) for level, frame in areas.items()}
    parts = {name: dict(iter(frame.groupby(["period", "level"])))
             for name, frame in (("indicators", indicators), ("scores", scores),
                                 ("patterns", patterns))}
    data.quarters = {str(p): quarter_json(str(p), areas, parts, ids, decimals) for p in periods}
    log.debug("dashboardgegevens: %d kwartalen, %s", len(periods),
             ", ".join(f"{len(frame)} {level}" for level, frame in areas.items()))
    return data
