r"""A hit-rate model: the chance that an integrale controle in an area finds something.

Each past controle is one example: its outcome (``ja`` = something found) and the indicators
of its area at the end of the *previous* quarter, so the model only learns from what was known
before the controle. Indicators enter oriented (higher = more risk) and as percentile ranks
within their quarter, which keeps quarters with shorter data histories comparable; a missing
value counts as the middle (0.5).

:class:`HitRateModel` is an L2-regularised logistic regression whose strength is chosen by
cross-validation grouped by wijk (no wijk is in a training and a validation fold at once, so
spatial leakage between neighbouring buurten does not flatter the scores), with sigmoid
calibration (Platt scaling) on the pooled out-of-fold predictions of the same folds: one
calibrator, never one per small wijk fold, whose slopes would be unstable.

Notes
-----
The probability of a finding :math:`y` at features :math:`x` is

.. math:: \hat p(x) = \sigma\bigl(a\, f(x) + b\bigr), \qquad
          f(x) = \beta_0 + \sum_j \beta_j \frac{x_j - \mu_j}{s_j}

with :math:`(a, b)` fitted on out-of-fold predictions (Platt scaling). The explanation of an
area lists the indicators with the largest positive :math:`\beta_j (x_j - \mu_j)/s_j`, the ones
that push its chance above the average controle. Controles target risk branches, so the model
describes controles as they were chosen, not all establishments. References: Platt, J. (1999).
Probabilistic outputs for support vector machines. Roberts, D.R. et al. (2017).
Cross-validation strategies for data with temporal, spatial, hierarchical, or phylogenetic
structure. *Ecography* 40(8).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from riskmap.areatypes import scored_levels
from riskmap.config import Config
from riskmap.errors import InputError, StoreError
from riskmap.fmt import integer, number, percent
from riskmap.indicators.build import OVERALL, plain_scores, stored_scores
from riskmap.indicators.catalogue import Indicator, for_level
from riskmap.indicators.scoring import normalise
from riskmap.indicators.values import indicator_values, scored_indicators
from riskmap.models.metrics import binary_log_loss, ranking_auc
from riskmap.periods import Period, quarters
from riskmap.store import Store

log = logging.getLogger(__name__)

MODEL_NAME = "hit_rate_logistic"
FOUND = "ja"
MODEL_LEVELS = scored_levels()
STRENGTHS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
NEUTRAL = 0.5
COVERAGE = 0.5
MIN_TRAINING_QUARTERS = 2


@dataclass
class TrainingSet:
    """Controles with the features of their area in the quarter before, and their wijk."""

    features: pd.DataFrame
    found: pd.Series
    groups: pd.Series
    quarters: list[Period]


def area_features(values: pd.DataFrame, catalogue: list[Indicator], level: str) -> pd.DataFrame:
    """Indicators per area (rows) from long-form indicator ``values`` of one quarter, oriented
    (higher = more risk) and as percentile ranks in [0, 1]."""
    indicators = {i.id: i for i in for_level(catalogue, level)}
    raw = values.pivot(index="area_code", columns="indicator", values="value")
    raw = raw[[c for c in indicators if c in scored_indicators(raw, catalogue)]]
    direction = pd.Series({c: float(indicators[c].direction) for c in raw.columns})
    return normalise(raw * direction, "percentile").rename_axis(columns=None)


class QuarterData:
    """Indicator values, features and overall scores of one level per quarter, computed once,
    with data up to each quarter's end only: the stored values of a built quarter (when built
    with this catalogue), else computed from the store's sources."""

    def __init__(self, store: Store, catalogue: list[Indicator], config: Config,
                 level: str) -> None:
        self.store, self.catalogue, self.config, self.level = store, catalogue, config, level
        self._values: dict[Period, pd.DataFrame] = {}
        self._features: dict[Period, pd.DataFrame] = {}
        self._overall: dict[Period, pd.Series] = {}

    def values(self, period: Period) -> pd.DataFrame:
        """Indicator values of ``period`` in long form."""
        if period not in self._values:
            stored = self._stored_values(period)
            self._values[period] = stored if stored is not None else indicator_values(
                self.store, self.catalogue, period, self.level, self.config["privacy.min_count"],
                report=False)
        return self._values[period]

    def _stored_values(self, period: Period) -> pd.DataFrame | None:
        """The values of the latest build of ``period`` if it holds this catalogue's indicators."""
        stored = self.store.query(
            "SELECT area_code, level, period, indicator, value, numerator, denominator, "
            "suppressed, reason FROM indicator_values WHERE period = ? AND level = ? AND "
            "build_id = (SELECT max(build_id) FROM builds WHERE period = ?)",
            [str(period), self.level, str(period)])
        expected = {i.id for i in for_level(self.catalogue, self.level)}
        required = {i.id for i in for_level(self.catalogue, self.level) if not i.optional}
        found = set(stored["indicator"])
        return stored if not stored.empty and required <= found <= expected else None

    def overall(self, period: Period) -> pd.Series:
        """The overall score per area of ``period`` (as a build computes it, without draws;
        the build's own where it is current, see :func:`stored_scores`)."""
        if period not in self._overall:
            scores = stored_scores(self.store, self.config, self.catalogue, period, self.level)
            if scores is None:
                scores = plain_scores(self.values(period), self.catalogue, self.level,
                                      self.config)
            self._overall[period] = scores[scores["theme"] == OVERALL].set_index(
                "area_code")["score"] if not scores.empty else pd.Series(dtype=float)
        return self._overall[period]

    def features(self, period: Period) -> pd.DataFrame:
        """Features of ``period`` (see :func:`area_features`)."""
        if period not in self._features:
            self._features[period] = area_features(self.values(period), self.catalogue,
                                                   self.level)
        return self._features[period]

    def computed(self, period: Period) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
        """Values, features and overall scores of ``period``, computed here (for a forked
        process to hand to its parent, see :meth:`adopt`)."""
        return self.values(period), self.features(period), self.overall(period)

    def adopt(self, period: Period,
              computed: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> None:
        """Take what :meth:`computed` gave for ``period`` elsewhere as computed here."""
        self._values[period], self._features[period], self._overall[period] = computed


def controle_outcomes(store: Store, level: str, period: Period) -> pd.DataFrame:
    """Controles and controles with a finding per area of ``level`` in ``period``.

    Those of every quarter are read in one query, once while a read-only store is open
    (:meth:`~riskmap.store.Store.cached`): a track record asks for each quarter many times
    (the demo's run: 112 queries)."""
    if level not in MODEL_LEVELS:
        raise InputError(f"niveau {level!r} onbekend; kies uit {{{', '.join(MODEL_LEVELS)}}}")
    every = store.cached(("controle_outcomes", level), lambda: store.query(
        f"SELECT year(date) AS year, quarter(date) AS quarter, {level} AS area_code, "
        f"count(*) AS controles, count(*) FILTER (WHERE outcome = ?) AS found FROM events "
        f"WHERE kind = 'controles' AND {level} IS NOT NULL GROUP BY ALL ORDER BY 1, 2, 3",
        [FOUND]))
    rows = (every["year"] == period.year) & (every["quarter"] == period.quarter)
    return every.loc[rows, ["area_code", "controles", "found"]].set_index("area_code")


def controle_quarters(store: Store) -> list[Period]:
    """The quarters from the first register event up to the last controle."""
    first, last = store.query("SELECT min(date) AS a, max(date) FILTER (WHERE kind = "
                              "'controles') AS b FROM events").iloc[0]
    if pd.isna(first) or pd.isna(last):
        raise StoreError(f"{store.path}: geen controles geladen; laad ze eerst met `riskmap load register "
                         f"controles BESTAND`")
    return quarters(Period.of(pd.Timestamp(first).date()), Period.of(pd.Timestamp(last).date()))


def training_set(store: Store, level: str, last: Period,
                 features_at: Callable[[Period], pd.DataFrame]) -> TrainingSet:
    """Every controle in a quarter up to ``last``, with its area's features a quarter earlier.

    ``features_at(quarter)`` gives the features per area (see :func:`area_features`). The first
    quarter with register data only provides features, never outcomes; controles whose previous
    quarter has less than half of the indicators (a source not loaded yet) are not used.
    """
    groups_of = area_groups(store, level)
    frames, found, groups, used = [], [], [], []
    for quarter in [q for q in controle_quarters(store) if q <= last][1:]:
        rows = store.query(f"SELECT {level} AS area_code, outcome = ? AS found FROM events WHERE "
                           f"kind = 'controles' AND date BETWEEN ? AND ? AND {level} IS NOT NULL",
                           [FOUND, quarter.start, quarter.end])
        if rows.empty:
            continue
        features = features_at(quarter - 1)
        available = features.notna().any().mean() if features.shape[1] else 0.0
        if available < COVERAGE:
            log.debug("controles of %s not used: the indicators of %s are %.0f%% available",
                     quarter, quarter - 1, 100 * available)
            continue
        frames.append(features.reindex(rows["area_code"]).reset_index(drop=True))
        found.append(rows["found"].astype(bool))
        groups.append(rows["area_code"].map(groups_of))
        used.append(quarter)
    check_training_quarters(store, last, len(used))
    return TrainingSet(pd.concat(frames, ignore_index=True),
                       pd.concat(found, ignore_index=True),
                       pd.concat(groups, ignore_index=True), used)


def check_training_quarters(store: Store, last: Period, found: int) -> None:
    """Refuse to fit on fewer than :data:`MIN_TRAINING_QUARTERS` quarters of outcomes: one
    quarter of a few dozen controles gives coefficients of any sign."""
    if found < MIN_TRAINING_QUARTERS:
        raise StoreError(f"{store.path}: controles met een kwartaal gegevens ervoor in {found} "
                         f"kwartaal/kwartalen t/m {last}; een model vraagt er "
                         f"{MIN_TRAINING_QUARTERS}")


def area_groups(store: Store, level: str) -> pd.Series:
    """Cross-validation group per area: its wijk for buurten, else the area itself."""
    column = "wijk" if level == "buurt" else "code"
    frame = store.query(f"SELECT code, {column} AS grp FROM areas WHERE level = ?", [level])
    return frame.drop_duplicates("code").set_index("code")["grp"]


def _scaled(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training and test features standardised with the training rows' means and spreads."""
    scaler = StandardScaler().fit(train)
    return scaler.transform(train), scaler.transform(test)


def _filled(x: np.ndarray) -> np.ndarray:
    """Missing values as the middle (:data:`NEUTRAL`): a constant, learnt from no data, so it
    is filled once for every fold."""
    return np.where(np.isnan(x), NEUTRAL, x)


class HitRateModel:
    """Chance that a controle finds something, from area indicators (see the module notes).

    Parameters
    ----------
    strengths
        Inverse regularisation strengths ``C`` tried by grouped cross-validation.
    folds
        Number of grouped folds (fewer when there are fewer groups).
    seed
        Seed of the solver (the folds themselves are deterministic).

    Attributes
    ----------
    features_ : list[str]
        Indicator ids the model uses.
    strength_ : float
        The chosen ``C``.
    cv_auc_, cv_brier_, cv_log_loss_ : float
        Out-of-fold AUC, Brier score and log loss of the uncalibrated model with ``strength_``.
    base_rate_ : float
        Share of training controles with a finding.
    coefficients_ : pd.Series
        Coefficients per standardised indicator (log-odds per standard deviation).
    """

    def __init__(self, strengths: tuple[float, ...] = STRENGTHS, folds: int = 5,
                 seed: int = 0) -> None:
        self.strengths = strengths
        self.folds = folds
        self.seed = seed

    def _regression(self, strength: float) -> LogisticRegression:
        # Newton steps with a Cholesky solve: for a few dozen features, the same optimum as
        # L-BFGS (to its tolerance) in fewer, cheaper iterations
        return LogisticRegression(C=strength, solver="newton-cholesky", max_iter=2_000,
                                  random_state=self.seed)

    def _pipeline(self, strength: float) -> Pipeline:
        return make_pipeline(StandardScaler(), self._regression(strength))

    def fit(self, features: pd.DataFrame, found: pd.Series, groups: pd.Series) -> HitRateModel:
        """Fit on one row per controle: area features, finding (bool) and group (wijk).

        BLAS runs on one thread here: on these small matrices its thread pool costs far more
        than it gains (8× slower fits measured on 2 busy cores); scikit-learn does not check
        its parameters again on each of the hundreds of small fits (they are fixed here).
        """
        with threadpool_limits(limits=1, user_api="blas"), \
                config_context(skip_parameter_validation=True):
            return self._fit(features, found, groups)

    def _fit(self, features: pd.DataFrame, found: pd.Series, groups: pd.Series) -> HitRateModel:
        y = np.asarray(found, dtype=int)
        n_groups = pd.Series(groups).nunique()
        if n_groups < 2:
            raise InputError(f"kruisvalidatie per groep vraagt controles in minstens 2 groepen "
                             f"(wijken); er zijn er {n_groups}")
        if np.unique(y).size < 2:
            raise InputError("elke controle had dezelfde uitkomst: niets te leren")
        x = _filled(features.to_numpy(float))
        splits = list(GroupKFold(n_splits=min(self.folds, n_groups)).split(x, y, groups))
        # each fold scaled once for every strength (as the pipeline would scale it)
        folds = [(test, *_scaled(x[train], x[test]), y[train]) for train, test in splits
                 if np.unique(y[train]).size == 2]
        scores = self._out_of_fold(y, folds)
        self.strength_ = min(scores, key=lambda c: binary_log_loss(y, scores[c]))
        best = scores[self.strength_]
        self.cv_auc_ = ranking_auc(y == 1, best)
        self.cv_brier_ = float(brier_score_loss(y, best))
        self.cv_log_loss_ = binary_log_loss(y, best)
        self.features_ = list(features.columns)
        self.base_rate_ = float(y.mean())
        self.calibrated_ = CalibratedClassifierCV(self._pipeline(self.strength_), method="sigmoid",
                                                  cv=splits, ensemble=False).fit(x, y)
        # without an ensemble, the calibration's classifier is the pipeline fitted on every row
        self.explainer_ = self.calibrated_.calibrated_classifiers_[0].estimator
        self.coefficients_ = pd.Series(self.explainer_[-1].coef_[0], index=self.features_)
        log.debug("trefkansmodel op %s controles (%s met een bevinding), C = %s: AUC bij "
                 "kruisvalidatie per groep %s, Brier %s", integer(y.size),
                 percent(self.base_rate_), number(self.strength_, 2), number(self.cv_auc_, 2),
                 number(self.cv_brier_, 3))
        return self

    def _out_of_fold(self, y: np.ndarray,
                     folds: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
                     ) -> dict[float, np.ndarray]:
        """Predictions for each fold's test rows from a fit on its training rows (``folds``:
        test rows, scaled training and test features, training outcomes), per strength; the
        base rate where a fold's training rows have one outcome only. A fold's fits go from
        the strongest regularisation to the weakest, each starting from the one before."""
        predicted = {c: np.full(y.size, float(y.mean())) for c in self.strengths}
        for test, x_train, x_test, y_train in folds:
            model = self._regression(self.strengths[0])
            model.warm_start = True
            for strength in sorted(self.strengths):
                model.set_params(C=strength).fit(x_train, y_train)
                predicted[strength][test] = model.predict_proba(x_test)[:, 1]
        return predicted

    def predict_proba(self, features: pd.DataFrame) -> pd.Series:
        """Calibrated chance of a finding per row (area)."""
        x = _filled(features.reindex(columns=self.features_).to_numpy(float))
        return pd.Series(self.calibrated_.predict_proba(x)[:, 1], index=features.index,
                         name="probability")

    def explain(self, features: pd.DataFrame, top: int = 3) -> pd.Series:
        """Per row, the ``top`` indicators that push the chance up most (JSON list of ids)."""
        x = _filled(features.reindex(columns=self.features_).to_numpy(float))
        contribution = self.explainer_[0].transform(x) * self.coefficients_.to_numpy()
        out = []
        for row in contribution:
            order = [j for j in np.argsort(-row) if row[j] > 0][:top]
            out.append(json.dumps([self.features_[j] for j in order]))
        return pd.Series(out, index=features.index, name="explanation")


def fit_hit_rate_model(store: Store, level: str, last: Period,
                       features_at: Callable[[Period], pd.DataFrame], seed: int = 0) -> HitRateModel:
    """A :class:`HitRateModel` on every controle up to ``last``."""
    data = training_set(store, level, last, features_at)
    return HitRateModel(seed=seed).fit(data.features, data.found, data.groups)


def predictions(store: Store, catalogue: list[Indicator], config: Config, period: Period,
                level: str = "buurt",
                data: QuarterData | None = None) -> tuple[pd.DataFrame, HitRateModel]:
    """Chance of a finding for a controle in the quarter after ``period``, per area.

    The model learns from controles up to ``period``; the areas' features are those at the
    end of ``period``.

    Returns
    -------
    predictions, model
        ``area_code, probability, rank, explanation`` per area, and the fitted model.
    """
    data = data or QuarterData(store, catalogue, config, level)
    model = fit_hit_rate_model(store, level, period, data.features, config["scoring.seed"])
    features = data.features(period)
    frame = pd.DataFrame({"probability": model.predict_proba(features),
                          "explanation": model.explain(features)})
    frame["rank"] = frame["probability"].rank(ascending=False, method="first").astype(int)
    return frame.rename_axis("area_code").reset_index(), model
