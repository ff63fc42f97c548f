"""Build a quarter: indicator values and scores for every level, stored in one transaction."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

import numpy as np
import pandas as pd

from riskmap import __version__
from riskmap._forked import started, threaded
from riskmap.config import Config
from riskmap.errors import StoreError
from riskmap.fmt import percent
from riskmap.indicators.catalogue import INDICATOR_LEVELS, THEME_LABELS, Indicator, for_level
from riskmap.indicators.privacy import PRIVACY_REASONS, suppression_summary
from riskmap.indicators.release import (
    CELL_COLUMNS,
    Release,
    apply_to_values,
    protected,
    protected_here,
    read_release,
    release_inputs,
)
from riskmap.indicators.scoring import (
    Design,
    drivers,
    effective_weights,
    overall_score,
    prepare,
    rank_descending,
    shape,
    substitute,
    substituted,
    theme_scores,
    themes_applicable,
    uncertainty,
)
from riskmap.indicators.values import (
    SMALL_DENOMINATOR,
    indicator_values,
    measure_counts,
    region_measures,
    scored_indicators,
)
from riskmap.periods import Period
from riskmap.store import Store

log = logging.getLogger(__name__)

OVERALL = "totaal"
FINGERPRINT = "fingerprint"  # the key of :func:`build_fingerprint` in a build's settings
BOUNDED = {"percentile", "minmax"}


@dataclass
class LevelResult:
    """Values and scores of one level in one period (the quality report is made from the
    stored values when it is written: :func:`quality_report`)."""

    level: str
    values: pd.DataFrame
    scores: pd.DataFrame


def design_for(catalogue: list[Indicator], level: str, available: list[str],
               theme_weights: dict[str, float]) -> Design:
    """Directions, weights and theme membership of the indicators available at ``level``; a
    fallback is in the design (in no theme) where its primary is."""
    indicators = [i for i in for_level(catalogue, level) if i.id in available]
    primaries = {i.id for i in indicators if i.fallback_for is None}
    indicators = [i for i in indicators if i.fallback_for is None or i.fallback_for in primaries]
    themes: dict[str, list[str]] = {}
    for indicator in indicators:
        for theme in indicator.themes_at(level) if indicator.fallback_for is None else ():
            themes.setdefault(theme, []).append(indicator.id)
    themes = {t: m for t, m in themes.items() if theme_weights.get(t, 0) > 0}
    return Design(
        directions=pd.Series({i.id: i.direction for i in indicators}, dtype=float),
        weights=pd.Series({i.id: i.weight for i in indicators}, dtype=float),
        themes=themes,
        theme_weights=pd.Series({t: theme_weights[t] for t in themes}, dtype=float),
        fallbacks={i.id: i.fallback_for for i in indicators if i.fallback_for is not None},
    )


def applicable_from(values: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Per area and indicator (fallbacks merged into their primaries): whether it applies, i.e.
    its denominator is not too small there (see the module notes of
    :mod:`riskmap.indicators.scoring`)."""
    small = values.assign(small=values["reason"] == SMALL_DENOMINATOR).pivot(
        index="area_code", columns="indicator", values="small")
    small = small.reindex(columns=list(design.weights.index)).fillna(False).astype(bool)
    return substitute(~small, design)


@dataclass
class _Scored:
    """What the scores of a level are computed from, and the theme and overall scores."""

    raw: pd.DataFrame
    design: Design
    applicable: pd.DataFrame
    normalised: pd.DataFrame
    themes: pd.DataFrame
    theme_applies: pd.DataFrame | None
    overall: pd.Series
    scale: float


def _scored(values: pd.DataFrame, catalogue: list[Indicator], level: str,
            config: Config) -> _Scored | None:
    """The theme and overall scores of a level (``None``: no theme, or fewer than two areas)."""
    raw = values.pivot(index="area_code", columns="indicator", values="value")
    design = design_for(catalogue, level, scored_indicators(raw, catalogue),
                        config["scoring.theme_weights"])
    if not design.themes or len(raw) < 2:
        return None
    raw = raw[list(design.weights.index)]
    applicable = applicable_from(values, design).reindex(raw.index).fillna(True).astype(bool)
    method = config["scoring.normalisation"]
    normalised = prepare(raw, design, method)
    themes = theme_scores(normalised, design, config["scoring.aggregation"], applicable)
    theme_applies = themes_applicable(applicable, design, raw.index)
    overall = overall_score(themes, design.theme_weights, theme_applies)
    return _Scored(raw, design, applicable, normalised, themes, theme_applies, overall,
                   100.0 if method in BOUNDED else 1.0)


def _score_frame(scored: _Scored, theme: str, score: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"area_code": score.index, "theme": theme,
                         "score": (score * scored.scale).to_numpy(),
                         "rank": rank_descending(score).to_numpy()})


def plain_scores(values: pd.DataFrame, catalogue: list[Indicator], level: str,
                 config: Config) -> pd.DataFrame:
    """``area_code, theme, score, rank, level``: the scores and ranks :func:`score_level` gives,
    without what only a build shows (uncertainty draws, drivers, coverage notes), for the
    change since a quarter and the backtests."""
    scored = _scored(values, catalogue, level, config)
    if scored is None:
        return pd.DataFrame(columns=["area_code", "theme", "score", "rank", "level"])
    return pd.concat([_score_frame(scored, theme, score) for theme, score
                      in [(OVERALL, scored.overall), *scored.themes.items()]],
                     ignore_index=True).assign(level=level)


def score_level(values: pd.DataFrame, catalogue: list[Indicator], level: str, config: Config,
                draws: int | None = None) -> pd.DataFrame:
    """Theme and overall scores, ranks, rank intervals, drivers and coverage of one level (long
    form; ``coverage`` is the share of the weight present, ``coverage_note`` says in Dutch what
    was there or why an area has no score)."""
    return finished_scores(scored_level(values, catalogue, level, config, draws), values, level)


@dataclass
class ScoredLevel:
    """What :func:`score_level` computes before it reads which values the outputs hide: the
    scores, their uncertainty draws and coverage (none of them depends on the release's
    protection, so a build computes them while it protects the release)."""

    scored: _Scored
    interval: pd.DataFrame
    used: pd.DataFrame
    cover: dict[str, pd.DataFrame]


def scored_level(values: pd.DataFrame, catalogue: list[Indicator], level: str, config: Config,
                 draws: int | None = None) -> ScoredLevel | None:
    """The part of :func:`score_level` that does not depend on which values are hidden
    (``None``: no scores, see :func:`_scored`)."""
    scored = _scored(values, catalogue, level, config)
    if scored is None:
        return None
    n_draws = config["scoring.draws"] if draws is None else draws
    interval = uncertainty(scored.raw, scored.design, n_draws, config["scoring.weight_spread"],
                           config["scoring.seed"], scored.applicable)
    cover = coverage_notes(scored.normalised, scored.applicable, scored.themes,
                           scored.theme_applies, scored.overall, scored.design,
                           _missing_nouns(values, catalogue, scored.design))
    return ScoredLevel(scored, interval, substituted(scored.raw, scored.design), cover)


def finished_scores(level_scores: ScoredLevel | None, values: pd.DataFrame,
                    level: str) -> pd.DataFrame:
    """:func:`score_level` from :func:`scored_level`, with ``values`` as the outputs hide them:
    drivers never name a hidden value, and each score says whether it drew on one."""
    if level_scores is None:
        return pd.DataFrame()
    scored, used = level_scores.scored, level_scores.used
    design, themes = scored.design, scored.themes
    small = _privacy_hidden(values)
    # a driver never names a value the outputs hide
    top = _named_drivers(drivers(scored.normalised.mask(_hidden(small, scored.raw, design, used)),
                                 design), used, design)
    frames = []
    for theme, score in [(OVERALL, scored.overall), *themes.items()]:
        members = list(design.weights.index) if theme == OVERALL else list(design.themes[theme])
        frame = _score_frame(scored, theme, score)
        frame["from_suppressed"] = small.reindex(index=score.index, columns=members).fillna(
            False).to_numpy(bool).any(axis=1)
        frame["coverage"] = level_scores.cover[theme]["coverage"].to_numpy()
        frame["coverage_note"] = level_scores.cover[theme]["note"].to_numpy()
        if theme == OVERALL:
            frame = frame.join(level_scores.interval, on="area_code")
            named = top.to_dict()  # a dict's lookups: a Series' get costs 10 µs each
            frame["drivers"] = [json.dumps(named.get(c, [])) for c in score.index]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).assign(level=level)


def _privacy_hidden(values: pd.DataFrame) -> pd.DataFrame:
    """Per area and indicator (as they are in ``values``): whether the outputs hide its value
    for privacy."""
    return values.assign(hidden=values["reason"].isin(PRIVACY_REASONS)).pivot(
        index="area_code", columns="indicator", values="hidden")


def _hidden(small: pd.DataFrame, raw: pd.DataFrame, design: Design,
            used: pd.DataFrame) -> pd.DataFrame:
    """Per area and scored indicator (fallbacks merged): whether the value that entered the
    score is one the outputs hide (the fallback's where it stood in for its primary), from
    :func:`_privacy_hidden`."""
    hidden = small.reindex(index=raw.index, columns=raw.columns).fillna(False).astype(bool)
    for fallback, primary in design.fallbacks.items():
        if primary in used.columns:
            hidden[primary] = hidden[primary].where(~used[primary], hidden[fallback])
    return hidden[list(used.columns)]


def _named_drivers(top: pd.Series, used: pd.DataFrame, design: Design) -> pd.Series:
    """Drivers, naming the fallback instead of its primary where the fallback's value was used."""
    fallback_of = {primary: fallback for fallback, primary in design.fallbacks.items()}
    # per primary: the areas where its fallback's value was used
    stood_in = {primary: set(used.index[used[primary].to_numpy(bool)])
                for primary in fallback_of if primary in used.columns}
    return pd.Series({code: [fallback_of[d] if code in stood_in.get(d, ()) else d
                             for d in names] for code, names in top.items()}, dtype=object)


def _missing_nouns(values: pd.DataFrame, catalogue: list[Indicator],
                   design: Design) -> pd.Series:
    """Per area, what the denominators that were too small count (public ones only)."""
    nouns = {i.id: noun for i in catalogue if (noun := i.denominator_noun)}
    small = values[(values["reason"] == SMALL_DENOMINATOR)
                   & values["indicator"].isin(design.weights.index)]
    return small.groupby("area_code")["indicator"].apply(
        lambda ids: sorted({nouns[i] for i in ids if i in nouns}))


def coverage_notes(normalised: pd.DataFrame, applicable: pd.DataFrame, themes: pd.DataFrame,
                   theme_applies: pd.DataFrame | None, overall: pd.Series, design: Design,
                   missing_nouns: pd.Series) -> dict[str, pd.DataFrame]:
    """Per theme (and ``totaal``): each area's coverage (share of the weight present) and a
    Dutch note: what was present, what did not apply, or why there is no score."""
    present = normalised.notna()
    weights = effective_weights(design).reindex(normalised.columns).fillna(0.0)
    out: dict[str, pd.DataFrame] = {}
    for theme, members in design.themes.items():
        w = design.weights.reindex(list(members))
        share = (present[list(members)] * w).sum(axis=1) / w.sum()
        applies = applicable[list(members)].any(axis=1)
        note = [_theme_note(s, a, ok) for s, a, ok in
                zip(share, applies, themes[theme].notna(), strict=True)]
        out[theme] = pd.DataFrame({"coverage": share, "note": note})
    share = (present * weights).sum(axis=1)
    applies = theme_applies if theme_applies is not None else themes.notna()
    names = list(themes.columns)
    scored_rows = themes.reindex(normalised.index).notna().to_numpy()
    applies_rows = applies.reindex(index=normalised.index, columns=names).to_numpy(bool)
    has_score = overall.reindex(normalised.index).notna().to_numpy()
    # per area by position, and the nouns by a dict (a Series' get and [] cost 10 µs each)
    nouns, shares = missing_nouns.to_dict(), share.to_numpy(float)
    notes = []
    for row, code in enumerate(normalised.index):
        scored = [t for t, ok in zip(names, scored_rows[row], strict=True) if ok]
        not_applicable = [t for t, ok in zip(names, applies_rows[row], strict=True) if not ok]
        notes.append(_overall_note(bool(has_score[row]), scored, not_applicable,
                                   nouns.get(code, []), float(shares[row]), len(names)))
    out[OVERALL] = pd.DataFrame({"coverage": share, "note": notes})
    return out


@lru_cache(maxsize=2**12)  # a few shares recur over thousands of areas
def _theme_note(share: float, applies: bool, scored: bool) -> str:
    if not applies:
        return "niet van toepassing"
    if not scored:
        return f"te weinig gegevens ({percent(share)} van het gewicht)"
    return f"{percent(share)} van het gewicht"


def _overall_note(scored: bool, themes: list[str], not_applicable: list[str], nouns: list[str],
                  share: float, total: int) -> str:
    few = f"te weinig {_and(nouns)}" if nouns else ""
    labels = _and([THEME_LABELS.get(t, t).lower() for t in themes]) or "geen"
    if not scored:
        why = f"geen score: {len(themes)} van {total} thema's met genoeg gegevens ({labels})"
        return f"{why}; {few}" if few else why
    text = f"{len(themes)} van {total} thema's, {percent(share)} van het gewicht"
    if not_applicable:
        skipped = _and([THEME_LABELS.get(t, t).lower() for t in not_applicable])
        text += f"; niet van toepassing: {skipped}" + (f" ({few})" if few else "")
    return text


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} en {words[-1]}" \
        if words else ""


def quality_report(values: pd.DataFrame, catalogue: list[Indicator], level: str,
                   config: Config) -> dict[str, pd.DataFrame]:
    """Correlations above 0.9 within a theme, effective weights, skewness and suppressions."""
    raw = values.pivot(index="area_code", columns="indicator", values="value")
    design = design_for(catalogue, level, scored_indicators(raw, catalogue),
                        config["scoring.theme_weights"])
    pairs = []
    for theme, members in design.themes.items():
        corr = raw[list(members)].corr(method="spearman")
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if abs(corr.loc[a, b]) > 0.9:
                    pairs.append((theme, a, b, round(float(corr.loc[a, b]), 3)))
    present = raw.notna().sum()
    moments = {c: shape(raw[c].dropna().to_numpy(float)) if present[c] > 2 else (np.nan, np.nan)
               for c in raw.columns}
    shapes = pd.DataFrame({
        "indicator": raw.columns,
        "skewness": [moments[c][0] for c in raw.columns],
        "kurtosis": [moments[c][1] if present[c] > 3 else np.nan for c in raw.columns],
        "missing": raw.isna().sum().to_numpy(),
    })
    weights = effective_weights(design).rename("effective_weight").reset_index() \
        .rename(columns={"index": "indicator"}) if design.themes else pd.DataFrame()
    return {
        "correlations": pd.DataFrame(pairs, columns=["theme", "indicator_a", "indicator_b",
                                                     "spearman"]),
        "weights": weights, "distribution": shapes, "suppressed": suppression_summary(values),
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
    """Compute and store indicator values and scores of every level for ``period``
    (:func:`computed_period`, then :func:`store_period`)."""
    built = computed_period(store, config, catalogue, period)
    store_period(store, config, catalogue, built)
    return built.results


@dataclass
class Built:
    """A quarter computed by :func:`computed_period`, not stored yet."""

    period: Period
    results: dict[str, LevelResult]
    release: Release


def computed_period(store: Store, config: Config, catalogue: list[Indicator],
                    period: Period, change: bool = True) -> Built:
    """Indicator values and scores of every level for ``period``, from the store as it is (read
    only).

    The previous quarter is scored as well (without uncertainty draws) to give the change;
    without ``change``, the caller gives it (:func:`with_change`).
    """
    store.require_areas("buurt")
    refuse_outside_data(store, period)
    min_count = config["privacy.min_count"]
    results: dict[str, LevelResult] = {}
    by_level: dict[str, pd.DataFrame] = {}
    regions = region_measures(store, catalogue, period, config.gemeente)
    levels = [level for level in INDICATOR_LEVELS
              if store.scalar("SELECT count(*) FROM areas WHERE level = ?", [level])]
    # the release's cells and atoms are read in a thread (on cursors of their own; DuckDB lets
    # go of Python's lock) while this one counts the measures and computes the values
    with threaded([partial(read_release, store, period, catalogue, levels,
                           config.gemeente)]) as reading:
        # the counts of this quarter and, where no build of it is stored, the one before, at once
        before = current_build(store, config, catalogue, period - 1) if change else None
        counted = measure_counts(store, catalogue, [(period, level) for level in levels] + [
            (period - 1, level) for level in levels if change and before is None])
        for level in levels:
            values = indicator_values(store, catalogue, period, level, min_count,
                                      config.gemeente, regions=regions,
                                      counted=counted[(period, level)])
            if not values.empty:
                by_level[level] = values
        # the scores of the quarter before: stored, or scored from its values below
        previous = {level: _previous(store, config, catalogue, period - 1, level, before,
                                     counted.get((period - 1, level)))
                    for level in by_level} if change else {}
        read = next(reading)
    later = [level for level, scores in previous.items() if callable(scores)]
    # the levels' scores (which do not depend on the release's protection) and those of the
    # quarter before computed side by side where this process may fork (one process per
    # core), while this one prepares the release's cells and protects a release whose
    # suppression works here alone; a larger one is protected after (on every core again);
    # then the scores learn what it hides
    with started([*(partial(scored_level, by_level[level], catalogue, level, config)
                    for level in by_level), *(previous[level] for level in later)]) as computed:
        inputs = release_inputs(store, period, catalogue, by_level, config.gemeente, min_count,
                                read)
        release = protected(inputs) if protected_here(inputs) else None
        level_scores = {level: next(computed) for level in by_level}
        previous |= {level: next(computed) for level in later}
    if release is None:
        release = protected(inputs)
    for level, frame in by_level.items():
        values = apply_to_values(frame, release, catalogue)
        scores = finished_scores(level_scores[level], values, level)
        changed = _changes(scores, previous[level]) if change and not scores.empty else scores
        results[level] = LevelResult(level, values, changed)
    if not results:
        raise StoreError(f"{store.path}: niets te berekenen voor {period}; laad eerst bronnen "
                         f"(riskmap load ...)")
    return Built(period, results, release)


def with_change(built: Built, previous: Built) -> Built:
    """``built`` with the change since ``previous``, the quarter before it computed with the
    same settings, catalogue and loads: its scores are those :func:`previous_scores` would read
    from its build once stored."""
    assert previous.period == built.period - 1
    for level, result in built.results.items():
        if not result.scores.empty:
            before = previous.results.get(level)
            result.scores = _changes(result.scores, before.scores if before is not None
                                     else pd.DataFrame())
    return built


def build_fingerprint(config: Config, catalogue: list[Indicator]) -> str:
    """What a build's values depend on besides the loaded data: riskmap's version, the settings
    and the catalogue (SHA-256)."""
    text = json.dumps([__version__, config.values, repr(catalogue)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def stored_scores(store: Store, config: Config, catalogue: list[Indicator], period: Period,
                  level: str) -> pd.DataFrame | None:
    """``area_code, theme, score, rank`` of a level as the latest build of ``period`` stored them,
    when that build is current (:func:`current_build`; else ``None``): the scores a build would
    compute now, without its uncertainty draws."""
    build = current_build(store, config, catalogue, period)
    return None if build is None else _scores_of(store, build, level)


def current_build(store: Store, config: Config, catalogue: list[Indicator],
                  period: Period) -> int | None:
    """The latest build of ``period`` when it had this fingerprint (:func:`build_fingerprint`)
    and the loads now active, else ``None``."""
    build = store.query("SELECT build_id, settings, load_ids FROM builds WHERE period = ? "
                        "ORDER BY build_id DESC LIMIT 1", [str(period)])
    if build.empty:
        return None
    settings = json.loads(build["settings"].iloc[0] or "{}")
    loads = json.loads(build["load_ids"].iloc[0] or "[]")
    if settings.get(FINGERPRINT) != build_fingerprint(config, catalogue) \
            or loads != store.lineage()["load_id"].tolist():
        return None
    return int(build["build_id"].iloc[0])


def _scores_of(store: Store, build: int, level: str) -> pd.DataFrame:
    return store.query("SELECT area_code, theme, score, rank FROM scores WHERE build_id = ? "
                       "AND level = ?", [build, level])


def previous_scores(store: Store, config: Config, catalogue: list[Indicator], period: Period,
                    level: str, counted: Mapping[str, pd.Series] | None = None) -> pd.DataFrame:
    """Scores and ranks of a level in ``period``, for the change since then: those stored by its
    build (:func:`stored_scores`; scores do not depend on the release's protection nor on the
    uncertainty draws), else computed anew (from ``counted``, its :func:`measure_counts`, when
    given)."""
    scores = _previous(store, config, catalogue, period, level,
                       current_build(store, config, catalogue, period), counted)
    return scores() if callable(scores) else scores


def _previous(store: Store, config: Config, catalogue: list[Indicator], period: Period,
              level: str, build: int | None, counted: Mapping[str, pd.Series] | None = None
              ) -> pd.DataFrame | Callable[[], pd.DataFrame]:
    """:func:`previous_scores` of the ``build`` of ``period`` (:func:`current_build`): those it
    stored, or what scores the values (read from the store now) without the store, for a forked
    process."""
    if build is not None:
        return _scores_of(store, build, level)
    values = indicator_values(store, catalogue, period, level, config["privacy.min_count"],
                              report=False, counted=counted)
    return partial(plain_scores, values, catalogue, level, config)


def loaded_range(store: Store) -> tuple[Period, Period] | None:
    """The quarters the loaded data covers: of the register events, or (without events) of the
    establishments' start dates; ``None`` when neither is loaded."""
    for sql in ("SELECT min(date), max(date) FROM events",
                "SELECT min(start_date), max(start_date) FROM establishments"):
        first, last = store.con.execute(sql).fetchall()[0]
        if first is not None:
            return Period.of(first), Period.of(last)
    return None


def refuse_outside_data(store: Store, period: Period) -> None:
    """Refuse to build a quarter outside :func:`loaded_range` (it would have no data)."""
    covered = loaded_range(store)
    if covered and not covered[0] <= period <= covered[1]:
        raise StoreError(f"{store.path}: {period} ligt buiten de geladen gegevens "
                         f"({covered[0]}..{covered[1]}); kies een kwartaal daarbinnen of laad "
                         f"eerst gegevens van {period}")


def store_period(store: Store, config: Config, catalogue: list[Indicator], built: Built) -> int:
    """Store a computed quarter as a new build, replacing everything of that quarter in one
    transaction; returns the build's id."""
    period, results, release = built.period, built.results, built.release
    fingerprint = build_fingerprint(config, catalogue)
    loads = store.lineage()["load_id"].tolist()
    settings: dict[str, Any] = {k: v for k, v in config.values.items() if k.startswith("scoring.")}
    settings[FINGERPRINT] = fingerprint
    with store.transaction():
        build_id = int(store.scalar("SELECT coalesce(max(build_id), 0) + 1 FROM builds"))
        for table in ("indicator_values", "scores", "released_cells"):
            store.con.execute(f"DELETE FROM {table} WHERE period = ?", [str(period)])
        # results computed from the scores replaced here would no longer match them
        for table, column in (("hotspots", "period"), ("predictions", "period"),
                              ("emerging_hotspots", "last_period")):
            store.con.execute(f"DELETE FROM {table} WHERE {column} = ? AND level IN (SELECT "
                              f"unnest(?))", [str(period), list(INDICATOR_LEVELS)])
        store.con.execute("INSERT INTO builds VALUES (?, ?, ?, ?, ?)",
                          [build_id, str(period), datetime.now(), json.dumps(settings),
                           json.dumps(loads)])
        for result in results.values():
            store.insert("indicator_values", result.values.assign(build_id=build_id))
            if not result.scores.empty:
                store.insert("scores", result.scores.assign(period=str(period), build_id=build_id))
        store.insert("released_cells", release.cells[CELL_COLUMNS].assign(
            period=str(period), build_id=build_id))
    log.debug("built %s: %s", period, ", ".join(
        f"{len(r.scores[r.scores['theme'] == OVERALL]) if not r.scores.empty else 0} {lv}"
        for lv, r in results.items()))
    return build_id
