"""Build a quarter: indicator values and scores for every level, stored in one transaction."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from riskmap.config import Config
from riskmap.errors import StoreError
from riskmap.indicators.catalogue import INDICATOR_LEVELS, Indicator, for_level
from riskmap.indicators.privacy import suppression_summary
from riskmap.indicators.scoring import (
    Design,
    drivers,
    effective_weights,
    overall_score,
    prepare,
    rank_descending,
    theme_scores,
    uncertainty,
)
from riskmap.indicators.values import SMALL_COUNT, indicator_values
from riskmap.periods import Period
from riskmap.store import Store

log = logging.getLogger(__name__)

OVERALL = "totaal"
BOUNDED = {"percentile", "minmax"}


@dataclass
class LevelResult:
    """Values, scores and quality figures of one level in one period."""

    level: str
    values: pd.DataFrame
    scores: pd.DataFrame
    quality: dict[str, pd.DataFrame] = field(default_factory=dict)


def design_for(catalogue: list[Indicator], level: str, available: list[str],
               theme_weights: dict[str, float]) -> Design:
    """Directions, weights and theme membership of the indicators available at ``level``."""
    indicators = [i for i in for_level(catalogue, level) if i.id in available]
    themes: dict[str, list[str]] = {}
    for indicator in indicators:
        for theme in indicator.themes_at(level):
            themes.setdefault(theme, []).append(indicator.id)
    themes = {t: m for t, m in themes.items() if theme_weights.get(t, 0) > 0}
    return Design(
        directions=pd.Series({i.id: i.direction for i in indicators}, dtype=float),
        weights=pd.Series({i.id: i.weight for i in indicators}, dtype=float),
        themes=themes,
        theme_weights=pd.Series({t: theme_weights[t] for t in themes}, dtype=float),
    )


def score_level(values: pd.DataFrame, catalogue: list[Indicator], level: str, config: Config,
                draws: int | None = None) -> pd.DataFrame:
    """Theme and overall scores, ranks, rank intervals and drivers of one level (long form)."""
    raw = values.pivot(index="area_code", columns="indicator", values="value")
    design = design_for(catalogue, level, list(raw.columns), config["scoring.theme_weights"])
    if not design.themes or len(raw) < 2:
        return pd.DataFrame()
    raw = raw[list(design.weights.index)]
    method = config["scoring.normalisation"]
    normalised = prepare(raw, design, method)
    themes = theme_scores(normalised, design, config["scoring.aggregation"])
    overall = overall_score(themes, design.theme_weights)
    spread = config["scoring.weight_spread"]
    n_draws = config["scoring.draws"] if draws is None else draws
    interval = uncertainty(raw, design, n_draws, spread, config["scoring.seed"])
    top = drivers(normalised, design)
    small = values[values["reason"] == SMALL_COUNT].groupby("area_code")["indicator"].apply(set)
    scale = 100.0 if method in BOUNDED else 1.0
    frames = []
    for theme, score in [(OVERALL, overall), *themes.items()]:
        members = set(design.weights.index) if theme == OVERALL else set(design.themes[theme])
        frame = pd.DataFrame({"area_code": score.index, "theme": theme,
                              "score": (score * scale).to_numpy(),
                              "rank": rank_descending(score).to_numpy()})
        frame["from_suppressed"] = [bool(small.get(c, set()) & members) for c in score.index]
        if theme == OVERALL:
            frame = frame.join(interval, on="area_code")
            frame["drivers"] = [json.dumps(top.get(c, [])) for c in score.index]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).assign(level=level)


def quality_report(values: pd.DataFrame, catalogue: list[Indicator], level: str,
                   config: Config) -> dict[str, pd.DataFrame]:
    """Correlations above 0.9 within a theme, effective weights, skewness and suppressions."""
    raw = values.pivot(index="area_code", columns="indicator", values="value")
    design = design_for(catalogue, level, list(raw.columns), config["scoring.theme_weights"])
    pairs = []
    for theme, members in design.themes.items():
        corr = raw[list(members)].corr(method="spearman")
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if abs(corr.loc[a, b]) > 0.9:
                    pairs.append((theme, a, b, round(float(corr.loc[a, b]), 3)))
    shape = pd.DataFrame({
        "indicator": raw.columns,
        "skewness": [stats.skew(raw[c].dropna()) if raw[c].notna().sum() > 2 else np.nan
                     for c in raw.columns],
        "kurtosis": [stats.kurtosis(raw[c].dropna()) if raw[c].notna().sum() > 3 else np.nan
                     for c in raw.columns],
        "missing": raw.isna().sum().to_numpy(),
    })
    weights = effective_weights(design).rename("effective_weight").reset_index() \
        .rename(columns={"index": "indicator"}) if design.themes else pd.DataFrame()
    return {
        "correlations": pd.DataFrame(pairs, columns=["theme", "indicator_a", "indicator_b",
                                                     "spearman"]),
        "weights": weights, "distribution": shape, "suppressed": suppression_summary(values),
    }


def _changes(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    if previous.empty:
        return current.assign(change=np.nan, rank_change=pd.NA)
    before = previous[["area_code", "theme", "score", "rank"]]
    joined = current.merge(before, on=["area_code", "theme"], how="left",
                           suffixes=("", "_previous"))
    joined["change"] = joined["score"] - joined["score_previous"]
    joined["rank_change"] = (joined["rank_previous"] - joined["rank"]).astype("Int64")
    return joined.drop(columns=["score_previous", "rank_previous"])


def build_period(store: Store, config: Config, catalogue: list[Indicator],
                 period: Period) -> dict[str, LevelResult]:
    """Compute and store indicator values and scores of every level for ``period``.

    The previous quarter is scored as well (without uncertainty draws) to give the change.
    Everything of this period is replaced in one transaction.
    """
    store.require_areas("buurt")
    min_count = config["privacy.min_count"]
    results: dict[str, LevelResult] = {}
    for level in INDICATOR_LEVELS:
        if not store.scalar("SELECT count(*) FROM areas WHERE level = ?", [level]):
            continue
        values = indicator_values(store, catalogue, period, level, min_count, config.gemeente)
        if values.empty:
            continue
        scores = score_level(values, catalogue, level, config)
        previous = score_level(indicator_values(store, catalogue, period - 1, level, min_count,
                                                report=False),
                               catalogue, level, config, draws=0)
        if not scores.empty:
            scores = _changes(scores, previous)
        results[level] = LevelResult(level, values, scores,
                                     quality_report(values, catalogue, level, config))
    if not results:
        raise StoreError(f"{store.path}: nothing to build for {period}; load sources first")
    _store_build(store, config, period, results)
    return results


def _store_build(store: Store, config: Config, period: Period,
                 results: dict[str, LevelResult]) -> int:
    loads = store.lineage()["load_id"].tolist()
    settings: dict[str, Any] = {k: v for k, v in config.values.items() if k.startswith("scoring.")}
    with store.transaction():
        build_id = int(store.scalar("SELECT coalesce(max(build_id), 0) + 1 FROM builds"))
        for table in ("indicator_values", "scores"):
            store.con.execute(f"DELETE FROM {table} WHERE period = ?", [str(period)])
        # results computed from the scores replaced here would no longer match them
        for table, column in (("hotspots", "period"), ("predictions", "period"),
                              ("emerging_hotspots", "last_period")):
            store.con.execute(f"DELETE FROM {table} WHERE {column} = ? AND level IN "
                              f"('buurt', 'wijk', 'bedrijventerrein')", [str(period)])
        store.con.execute("INSERT INTO builds VALUES (?, ?, ?, ?, ?)",
                          [build_id, str(period), datetime.now(), json.dumps(settings),
                           json.dumps(loads)])
        for result in results.values():
            store.insert("indicator_values", result.values.assign(build_id=build_id))
            if not result.scores.empty:
                store.insert("scores", result.scores.assign(period=str(period), build_id=build_id))
    log.debug("built %s: %s", period, ", ".join(
        f"{len(r.scores[r.scores['theme'] == OVERALL]) if not r.scores.empty else 0} {lv}"
        for lv, r in results.items()))
    return build_id
