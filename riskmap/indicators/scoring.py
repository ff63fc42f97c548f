r"""Composite scores following the OECD/JRC Handbook on Constructing Composite Indicators (2008).

Steps: orient indicators so that higher means more risk; treat outliers (minmax and z-score
only); normalise; aggregate per theme with weights; aggregate themes into an overall score; rank;
re-score many times with perturbed weights and alternative normalisations and aggregations to
get a rank interval; decompose each score into its top contributing indicators.

Notes
-----
Theme score of area :math:`a` for theme :math:`t` with indicator set :math:`I_t` and weights
:math:`w_i`, over the indicators available for :math:`a` (:math:`A_a`):

.. math:: T_{a,t} = \frac{\sum_{i \in I_t \cap A_a} w_i N_{a,i}}{\sum_{i \in I_t \cap A_a} w_i}
   \quad\text{if}\quad \sum_{i \in I_t \cap A_a} w_i \ge \tfrac12 \sum_{i \in I_t \cap P_a} w_i

and missing otherwise (never zero), where :math:`P_a` are the indicators that *apply* to
:math:`a`: an indicator whose denominator is too small there (too few inhabitants, dwellings or
establishments to measure it) does not apply, while one that applies but is unknown (a source
not loaded, a CBS cell kept secret) counts against the coverage. A theme also needs
:data:`MIN_INDICATORS` indicators present, and the overall score, the weighted mean of the theme
scores under the same rule over the themes that apply, :data:`MIN_THEMES` themes. Where the
primary indicator is missing, a *fallback* (the same signal on another base, e.g. per address
instead of per inhabitant; see ``fallback_for`` in the catalogue) takes its place with its
normalised value. Geometric aggregation applies the same weights to :math:`\log(1 + 99 N)` and
maps back to [0, 1]. All inputs are rates or shares (intensive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmap.errors import ConfigError

NORMALISATIONS = ("percentile", "zscore", "minmax")
AGGREGATIONS = ("arithmetic", "geometric")
COVERAGE = 0.5
MIN_INDICATORS = 2
MIN_THEMES = 2
MAX_WINSORISED = 5
Z_CAP = 3.0
UNCERTAINTY_COMBOS = (("percentile", "arithmetic"), ("minmax", "arithmetic"),
                      ("zscore", "arithmetic"), ("percentile", "geometric"),
                      ("minmax", "geometric"))


@dataclass(frozen=True)
class Design:
    """What goes into a score: indicator directions and weights, theme membership and weights,
    and the fallbacks (fallback id -> primary id; fallbacks are in no theme themselves)."""

    directions: pd.Series
    weights: pd.Series
    themes: Mapping[str, Sequence[str]]
    theme_weights: pd.Series
    fallbacks: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for theme, members in self.themes.items():
            unknown = [m for m in members if m not in self.weights.index]
            if unknown:
                raise ConfigError(f"thema {theme!r} noemt onbekende indicator {unknown[0]!r}")
        for fallback, primary in self.fallbacks.items():
            if fallback not in self.weights.index or primary not in self.weights.index:
                raise ConfigError(f"fallback {fallback!r} of zijn hoofdindicator {primary!r} zit "
                                  f"niet in de opzet")


def shape(v: np.ndarray) -> tuple[float, float]:
    """Skewness and excess kurtosis (population moments, as ``scipy.stats.skew``/``kurtosis``
    with their defaults: missing when the values do not vary, or vary so little that the
    moments underflow, e.g. values around 1e-160)."""
    mean = float(v.mean())
    d = v - mean
    m2 = float(np.mean(d * d))
    if m2 <= (np.finfo(float).resolution * mean) ** 2 or m2 ** 2 == 0.0:
        return np.nan, np.nan
    return float(np.mean(d ** 3)) / m2 ** 1.5, float(np.mean(d ** 4)) / m2 ** 2 - 3.0


def winsorise(values: pd.Series, max_points: int = MAX_WINSORISED) -> tuple[pd.Series, int]:
    """Cap extreme values one at a time while |skewness| > 2 and kurtosis > 3.5 (handbook rule).

    Returns the treated values and how many points were capped.
    """
    x = values.to_numpy(float, copy=True)
    treated = 0
    for _ in range(max_points):
        v = x[~np.isnan(x)]
        distinct = np.unique(v)
        if len(v) < 4 or len(distinct) < 3:
            break
        skew, kurt = shape(v)
        if not (abs(skew) > 2 and kurt > 3.5):
            break
        if skew > 0:
            x[x == distinct[-1]] = distinct[-2]
        else:
            x[x == distinct[0]] = distinct[1]
        treated += 1
    return pd.Series(x, index=values.index, name=values.name), treated


def normalise(values: pd.DataFrame, method: str) -> pd.DataFrame:
    """Normalise each column (already oriented: higher = more risk).

    ``percentile``: (average rank - 1) / (n - 1), in [0, 1]; ``minmax``: (x - min)/(max - min);
    ``zscore``: (x - mean) / sd (population sd), capped at +/- 3. A constant column gets 0.5
    (0 for z-scores).
    Missing values stay missing.
    """
    if method == "percentile":
        n = values.notna().sum()
        ranks = values.rank(method="average")
        return ((ranks - 1) / (n - 1).where(n > 1)).fillna(values * 0 + 0.5).where(values.notna())
    if method == "minmax":
        low, high = values.min(), values.max()
        span = (high - low).where(high > low)
        return ((values - low) / span).fillna(values * 0 + 0.5).where(values.notna())
    if method == "zscore":
        sd = values.std(ddof=0)
        z = ((values - values.mean()) / sd.where(sd > 0)).fillna(values * 0)
        return z.clip(-Z_CAP, Z_CAP).where(values.notna())
    raise ConfigError(f"normalisatie {method!r} onbekend; kies uit {{{', '.join(NORMALISATIONS)}}}")


def prepare(raw: pd.DataFrame, design: Design, method: str) -> pd.DataFrame:
    """Orient, treat outliers and normalise.

    Outliers: percentile ranks need no treatment; min-max is winsorised by the handbook rule
    (:func:`winsorise`); z-scores are capped at +/- 3, which keeps them monotone in the data.
    """
    oriented = raw * design.directions.reindex(raw.columns)
    if method == "minmax":
        oriented = oriented.apply(lambda column: winsorise(column)[0])
    return substitute(normalise(oriented, method), design)


def substitute(frame: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Fill each primary's missing cells from its fallback and drop the fallback columns.

    Works on normalised values and on boolean masks (a cell is true where either is).
    """
    out = frame.copy()
    for fallback, primary in design.fallbacks.items():
        if fallback not in out.columns or primary not in out.columns:
            continue
        if out[primary].dtype == bool:
            out[primary] = out[primary] | out[fallback]
        else:
            out[primary] = out[primary].fillna(out[fallback])
    return out.drop(columns=[f for f in design.fallbacks if f in out.columns])


def substituted(raw: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Where (areas x primaries) a fallback's value stands in for its missing primary."""
    used = pd.DataFrame(False, index=raw.index,
                        columns=[c for c in raw.columns if c not in design.fallbacks])
    for fallback, primary in design.fallbacks.items():
        if fallback in raw.columns and primary in used.columns:
            used[primary] = raw[primary].isna() & raw[fallback].notna()
    return used


def _enough(present: np.ndarray, applicable: np.ndarray, weights: np.ndarray, coverage: float,
            minimum: int) -> np.ndarray:
    """Whether enough is present: ``coverage`` of the weight that applies, and either
    ``coverage`` of all the weight (the rule where everything applies) or ``minimum`` items,
    so that a score from few indicators never rests on one alone."""
    available = present @ weights.T
    needed = coverage * ((applicable | present) @ weights.T)
    full = coverage * weights.sum(axis=-1)
    count = present.sum(axis=1)
    count = count[:, None] if available.ndim == 2 else count
    return (available >= needed - 1e-12) & (available > 0) \
        & ((available >= full - 1e-12) | (count >= minimum))


def aggregate(normalised: pd.DataFrame, weights: pd.Series, method: str = "arithmetic",
              coverage: float = COVERAGE, applicable: pd.DataFrame | None = None,
              minimum: int = 1) -> pd.Series:
    """Weighted aggregate per row; missing when less than ``coverage`` of the weight of the
    columns that apply (``applicable``; default all) is there, or, below ``coverage`` of all
    the weight, fewer than ``minimum`` columns."""
    if method not in AGGREGATIONS:
        raise ConfigError(f"aggregatie {method!r} onbekend; kies uit {{{', '.join(AGGREGATIONS)}}}")
    w = weights.reindex(normalised.columns).to_numpy(float)
    x = normalised.to_numpy(float)
    present = ~np.isnan(x)
    applies = np.ones_like(present) if applicable is None else \
        applicable.reindex(index=normalised.index, columns=normalised.columns,
                           fill_value=True).to_numpy(bool)
    if method == "geometric":
        if np.nanmin(x, initial=0) < 0 or np.nanmax(x, initial=0) > 1:
            raise ConfigError("geometrische aggregatie vraagt waarden in [0, 1]: gebruik normalisatie "
                              "percentile of minmax")
        x = np.log1p(99 * x)
    available = present @ w
    total = np.where(present, x, 0) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        score = total / available
    if method == "geometric":
        score = np.expm1(score) / 99
    score[~_enough(present, applies, w, coverage, minimum)] = np.nan
    return pd.Series(score, index=normalised.index)


def theme_scores(normalised: pd.DataFrame, design: Design, method: str = "arithmetic",
                 applicable: pd.DataFrame | None = None) -> pd.DataFrame:
    """One score per theme (columns) per area (rows); ``applicable`` as in :func:`aggregate`."""
    return pd.DataFrame({theme: aggregate(normalised[list(members)], design.weights, method,
                                          applicable=applicable, minimum=MIN_INDICATORS)
                         for theme, members in design.themes.items()}, index=normalised.index)


def themes_applicable(applicable: pd.DataFrame | None, design: Design,
                      index: pd.Index) -> pd.DataFrame | None:
    """Per area and theme: whether any of the theme's indicators applies."""
    if applicable is None:
        return None
    return pd.DataFrame({theme: applicable.reindex(index=index, columns=list(members),
                                                   fill_value=True).any(axis=1)
                         for theme, members in design.themes.items()}, index=index)


def overall_score(themes: pd.DataFrame, theme_weights: pd.Series,
                  applicable: pd.DataFrame | None = None) -> pd.Series:
    """Weighted mean of theme scores, with the coverage rule over the themes that apply and at
    least :data:`MIN_THEMES` themes."""
    return aggregate(themes, theme_weights.reindex(themes.columns), "arithmetic",
                     applicable=applicable, minimum=MIN_THEMES)


def rank_descending(scores: pd.Series) -> pd.Series:
    """Ranks 1..n (1 = highest score) without gaps; ties broken by area code; missing stays NA."""
    order = scores.dropna().sort_index().sort_values(ascending=False, kind="stable")
    ranks = pd.Series(np.arange(1, len(order) + 1), index=order.index)
    return ranks.reindex(scores.index).astype("Int64")


def effective_weights(design: Design) -> pd.Series:
    """The share of the overall score each indicator carries when all values are present."""
    theme_share = design.theme_weights / design.theme_weights.sum()
    weights = design.weights.to_dict()
    out = dict.fromkeys(design.weights.index, 0.0)
    # number by number, as pandas would per theme (a Series per theme cost 11 ms a call);
    # a theme's weights summed by pandas, so the same sum
    with np.errstate(divide="ignore", invalid="ignore"):
        for theme, members in design.themes.items():
            share, total = theme_share.get(theme, 0.0), design.weights.reindex(list(members)).sum()
            for member in dict.fromkeys(members):
                out[member] += share * weights[member] / total
    return pd.Series(list(out.values()), index=design.weights.index, dtype=float)


def drivers(normalised: pd.DataFrame, design: Design, top: int = 3) -> pd.Series:
    """The indicators that push each area's score up most, relative to the average area.

    Contribution of indicator i to area a: effective weight x (N_ai - mean_i); the ``top``
    largest positive contributions are listed, largest first.
    """
    weight = effective_weights(design).reindex(normalised.columns)
    contribution = ((normalised - normalised.mean()) * weight).to_numpy(float)
    positive = np.where(contribution > 0, contribution, -np.inf)  # NaN compares False
    order = np.argsort(-positive, axis=1, kind="stable")[:, :top]
    names = normalised.columns.to_numpy()
    chosen = [[names[j] for j in row if positive[i, j] > -np.inf] for i, row in enumerate(order)]
    return pd.Series(chosen, index=normalised.index, dtype=object)


def uncertainty(raw: pd.DataFrame, design: Design, draws: int, spread: float,
                seed: int, applicable: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rank uncertainty from ``draws`` re-scorings (Monte Carlo, seeded).

    Each draw picks a normalisation and aggregation from :data:`UNCERTAINTY_COMBOS` and
    multiplies every indicator and theme weight by U(1 - spread, 1 + spread); the coverage rules
    are those of the score (``applicable``: indicators that apply per area, fallbacks merged).

    Returns
    -------
    pd.DataFrame
        ``rank_median``, ``rank_low`` (5th percentile) and ``rank_high`` (95th) per area.
    """
    if draws <= 0:
        return pd.DataFrame(index=raw.index.rename(None),
                            columns=["rank_median", "rank_low", "rank_high"], dtype=float)
    rng = np.random.default_rng(seed)
    prepared = {m: prepare(raw, design, m) for m in {c[0] for c in UNCERTAINTY_COMBOS}}
    columns = next(iter(prepared.values())).columns
    applies = np.ones((raw.shape[0], len(columns)), dtype=bool) if applicable is None else \
        applicable.reindex(index=raw.index, columns=columns, fill_value=True).to_numpy(bool)
    combos = rng.integers(len(UNCERTAINTY_COMBOS), size=draws)
    indicator_mult = rng.uniform(1 - spread, 1 + spread, size=(draws, len(columns)))
    theme_names = list(design.themes)
    theme_mult = rng.uniform(1 - spread, 1 + spread, size=(draws, len(theme_names)))
    scores = np.full((raw.shape[0], draws), np.nan)
    base_w = design.weights.reindex(columns).to_numpy(float)
    base_tw = design.theme_weights.reindex(theme_names).to_numpy(float)
    for index, (norm, agg) in enumerate(UNCERTAINTY_COMBOS):
        picked = np.flatnonzero(combos == index)
        if picked.size:
            scores[:, picked] = _draw_scores(prepared[norm], applies, agg,
                                             base_w * indicator_mult[picked],
                                             base_tw * theme_mult[picked], design, theme_names)
    ranks = _rank_columns(scores)
    result = pd.DataFrame(np.nan, index=raw.index.rename(None),
                          columns=["rank_median", "rank_low", "rank_high"])
    scored = ~np.isnan(ranks).all(axis=1)
    if scored.any():
        for column, q in (("rank_median", 50), ("rank_low", 5), ("rank_high", 95)):
            result.loc[scored, column] = _row_percentile(ranks[scored], q)
    return result


def _row_percentile(ranks: np.ndarray, q: int) -> np.ndarray:
    """The ``q``-th percentile of each row, leaving out missing values (as ``np.nanmedian``
    and ``np.nanpercentile``, bit for bit). Those take a row at a time in Python once any
    value is missing; here only the rows with a missing value do (a few dozen of 10,416
    buurten), the others go together."""
    out = np.full(len(ranks), np.nan)
    complete = ~np.isnan(ranks).any(axis=1)
    if complete.any():
        out[complete] = np.median(ranks[complete], axis=1) if q == 50 \
            else np.percentile(ranks[complete], q, axis=1)
    if not complete.all():
        out[~complete] = np.nanmedian(ranks[~complete], axis=1) if q == 50 \
            else np.nanpercentile(ranks[~complete], q, axis=1)
    return out


def _draw_scores(normalised: pd.DataFrame, applies: np.ndarray, aggregation: str,
                 weights: np.ndarray, theme_weights: np.ndarray, design: Design,
                 theme_names: list[str]) -> np.ndarray:
    """Overall scores (areas x draws) for a block of draws sharing a normalisation."""
    x = normalised.to_numpy(float)
    present = ~np.isnan(x)
    values = np.log1p(99 * np.where(present, x, 0)) if aggregation == "geometric" \
        else np.where(present, x, 0)
    columns = {c: i for i, c in enumerate(normalised.columns)}
    theme_num = np.zeros((x.shape[0], weights.shape[0]))
    theme_den = np.zeros_like(theme_num)
    theme_applies = np.zeros_like(theme_num)
    theme_count = np.zeros_like(theme_num)
    for t, theme in enumerate(theme_names):
        idx = [columns[m] for m in design.themes[theme]]
        w = weights[:, idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            score = (values[:, idx] @ w.T) / (present[:, idx] @ w.T)
        if aggregation == "geometric":
            score = np.expm1(score) / 99
        score[~_enough(present[:, idx], applies[:, idx], w, COVERAGE, MIN_INDICATORS)] = np.nan
        ok = ~np.isnan(score)
        theme_num += np.where(ok, score, 0) * theme_weights[:, t]
        theme_den += ok * theme_weights[:, t]
        theme_count += ok
        theme_applies += (applies[:, idx] | present[:, idx]).any(axis=1)[:, None] \
            * theme_weights[:, t]
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = theme_num / theme_den
    enough = (theme_den >= COVERAGE * theme_applies - 1e-12) & (theme_den > 0) \
        & ((theme_den >= COVERAGE * theme_weights.sum(axis=1)[None, :] - 1e-12)
           | (theme_count >= MIN_THEMES))
    overall[~enough] = np.nan
    return overall


def _rank_columns(scores: np.ndarray) -> np.ndarray:
    """Descending ranks per column (1 = highest), NaN for missing scores."""
    filled = np.where(np.isnan(scores), -np.inf, scores)
    order = np.argsort(-filled, axis=0, kind="stable")
    ranks = np.empty_like(scores)
    rows = np.arange(scores.shape[0])[:, None]
    ranks[order, np.arange(scores.shape[1])] = rows + 1
    ranks[np.isnan(scores)] = np.nan
    return ranks
