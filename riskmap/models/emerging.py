r"""Emerging hotspots: how each area's Gi* hotspot status and z-score develop over quarters.

:class:`EmergingHotspots` takes, per area and quarter, whether the area was a significant hot
spot and its Gi* z-score, and sorts each area into a category adapted from ESRI's emerging hot
spot analysis (with :math:`T` quarters, the last one :math:`T`):

==============  ========================================================================
``new``         hot in quarter :math:`T` only
``intensifying`` hot in at least 90 % of the quarters, :math:`T` included, and the z-score
                trends up (Mann-Kendall, two-sided, at ``trend_alpha``)
``persistent``  hot in at least 90 % of the quarters, :math:`T` included, no trend
``diminishing`` as persistent, but the z-score trends down
``sporadic``    hot in :math:`T` and in some, but under 90 %, of the earlier quarters
``former``      hot in an earlier quarter but not in :math:`T`
``no_pattern``  never hot
==============  ========================================================================

With fewer than five quarters no monotone series reaches a two-sided Mann-Kendall p-value
below 0.05 (four quarters: at best :math:`p = 1/12`), so with the default ``trend_alpha``
``intensifying`` and ``diminishing`` need at least five quarters; this is logged.
"""

from __future__ import annotations

import logging
import math
from functools import cache

import numpy as np
import pandas as pd
from scipy import stats

from riskmap.errors import InputError
from riskmap.fmt import number

log = logging.getLogger(__name__)

MIN_PERIODS = 4
PERSISTENCE = 0.9
# Exact Mann-Kendall p-values up to this many untied values, the normal approximation above.
EXACT_UP_TO = 10
CATEGORIES = ("new", "intensifying", "persistent", "diminishing", "sporadic", "former",
              "no_pattern")
CATEGORY_LABELS = {"new": "nieuw", "intensifying": "intensiverend", "persistent": "aanhoudend",
                   "diminishing": "afnemend", "sporadic": "sporadisch", "former": "voormalig",
                   "no_pattern": "geen patroon"}


@cache
def _kendall_s_distribution(n: int) -> np.ndarray:
    """Probabilities of the number of inversions (0 .. n(n-1)/2) of a random permutation."""
    counts = np.array([1.0])
    for k in range(2, n + 1):
        counts = np.convolve(counts, np.ones(k))
    return counts / math.factorial(n)


def mann_kendall(series: np.ndarray | pd.Series) -> tuple[float, float]:
    r"""Mann-Kendall trend test of a series in time order; missing values are skipped.

    Returns
    -------
    tau, p
        Kendall's :math:`\tau` between the values and time, and the two-sided p-value (NaN
        with fewer than three values).

    Notes
    -----
    .. math:: S = \sum_{i < j} \operatorname{sgn}(x_j - x_i), \qquad
              \tau = S \Big/ \tbinom{n}{2}.

    For up to ten values without ties, :math:`p = P(|S'| \ge |S|)` from the exact null
    distribution of :math:`S` (the number of inversions of a random permutation); otherwise the
    normal approximation with tie-corrected variance and continuity correction,
    :math:`\operatorname{Var} S = [n(n-1)(2n+5) - \sum_t t(t-1)(2t+5)] / 18`.
    Reference: Kendall, M.G. (1975). *Rank correlation methods*. Griffin.
    """
    x = np.asarray(series, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n < 3:
        return float("nan"), float("nan")
    s = float(sum(np.sign(x[i + 1:] - x[i]).sum() for i in range(n - 1)))
    pairs = n * (n - 1) / 2
    _, ties = np.unique(x, return_counts=True)
    if n <= EXACT_UP_TO and (ties == 1).all():
        inversions = np.arange(int(pairs) + 1)
        s_values = pairs - 2 * inversions
        p = float(_kendall_s_distribution(n)[np.abs(s_values) >= abs(s) - 1e-9].sum())
    else:
        variance = (n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())) / 18
        z = 0.0 if s == 0 or variance <= 0 else (s - np.sign(s)) / math.sqrt(variance)
        p = float(2 * stats.norm.sf(abs(z)))
    return s / pairs, min(p, 1.0)


class EmergingHotspots:
    """Emerging hotspot categories per area (see the module docstring).

    Parameters
    ----------
    trend_alpha
        Level of the two-sided Mann-Kendall test on each area's z-scores.
    persistence
        Share of the quarters an area must be hot in to count as persistent.

    Attributes
    ----------
    categories_ : pd.Series
        Category per area.
    trend_tau_, trend_p_ : pd.Series
        Mann-Kendall :math:`\\tau` and p-value of each area's z-scores.
    hot_periods_ : pd.Series
        Number of quarters each area was a hot spot.
    periods_ : list[str]
        The quarters, in order.
    """

    def __init__(self, trend_alpha: float = 0.05, persistence: float = PERSISTENCE) -> None:
        self.trend_alpha = trend_alpha
        self.persistence = persistence

    def fit(self, z: pd.DataFrame, hot: pd.DataFrame) -> EmergingHotspots:
        """Classify areas from z-scores and hotspot flags (areas x quarters, in time order)."""
        if z.shape[1] < MIN_PERIODS:
            raise InputError(f"opkomende hotspots vragen minstens {MIN_PERIODS} kwartalen; "
                             f"er zijn er {z.shape[1]}")
        if not z.index.equals(hot.index) or list(z.columns) != list(hot.columns):
            raise InputError("z-scores en hotspotvlaggen moeten dezelfde gebieden en kwartalen beslaan")
        if z.shape[1] < 5 and self.trend_alpha < 1 / 12:
            log.info("%d kwartalen: geen Mann-Kendall-trend kan p < %s halen, dus geen gebied "
                     "kan toenemend of afnemend zijn", z.shape[1], number(self.trend_alpha, 2))
        trends = [mann_kendall(row) for row in z.to_numpy(float)]
        self.trend_tau_ = pd.Series([t for t, _ in trends], index=z.index, dtype=float)
        self.trend_p_ = pd.Series([p for _, p in trends], index=z.index, dtype=float)
        flags = hot.fillna(False).astype(bool)
        self.hot_periods_ = flags.sum(axis=1)
        self.periods_ = [str(c) for c in z.columns]
        self.categories_ = pd.Series(
            [self._category(row, tau, p) for row, tau, p in
             zip(flags.to_numpy(), self.trend_tau_, self.trend_p_, strict=True)],
            index=z.index, dtype=object)
        return self

    def _category(self, hot: np.ndarray, tau: float, p: float) -> str:
        earlier = hot[:-1].any()
        if not hot[-1]:
            return "former" if earlier else "no_pattern"
        if not earlier:
            return "new"
        if hot.mean() >= self.persistence:
            if p <= self.trend_alpha:
                return "intensifying" if tau > 0 else "diminishing"
            return "persistent"
        return "sporadic"

    def to_frame(self) -> pd.DataFrame:
        """One row per area: category, trend tau and p, hot quarters and quarters."""
        return pd.DataFrame({
            "area_code": self.categories_.index, "category": self.categories_.to_numpy(),
            "trend_tau": self.trend_tau_.to_numpy(), "trend_p": self.trend_p_.to_numpy(),
            "hot_periods": self.hot_periods_.to_numpy(), "periods": len(self.periods_),
        })
