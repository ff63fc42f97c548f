r"""Hot and cold spots: Getis-Ord :math:`G^*_i` and local Moran's :math:`I_i`, FDR-controlled.

Both estimators take the variable (one value per area, no missing values) and binary
:class:`~riskmap.models.weights.Neighbours`; ``fit`` returns the estimator, with results in
attributes ending in ``_`` and as a table from :meth:`to_frame`. p-values are two-sided
permutation p-values from :mod:`riskmap.models.significance`; an area is significant when its
Benjamini-Hochberg q-value is at most ``alpha``. Areas without neighbours are reported as
``no_neighbours`` and left out of the tests.
"""

from __future__ import annotations

import logging
import warnings
from abc import ABC, abstractmethod
from typing import Self

import numpy as np
import pandas as pd
from esda.moran import Moran_Local

from riskmap.errors import InputError
from riskmap.fmt import integer, number
from riskmap.indicators.privacy import threshold
from riskmap.models.choices import METHODS
from riskmap.models.significance import (
    LocalSumTest,
    false_discovery,
    local_sum_test,
    permutations_for,
)
from riskmap.models.weights import Neighbours

log = logging.getLogger(__name__)

NOT_SIGNIFICANT = "not_significant"
NO_NEIGHBOURS = "no_neighbours"
NO_VALUE = "no_value"
WITHHELD = "withheld"
# Dutch labels of every category, for maps, reports and exports.
CATEGORY_LABELS = {
    "hotspot": "hotspot", "coldspot": "coldspot",
    "high_high": "hoog-hoog", "low_low": "laag-laag",
    "high_low": "hoog tussen laag", "low_high": "laag tussen hoog",
    NOT_SIGNIFICANT: "niet significant", NO_NEIGHBOURS: "geen buren", NO_VALUE: "geen waarde",
    WITHHELD: "niet getoond (minder dan 5 in de omgeving)",
}
COLUMNS = ["area_code", "value", "window_sum", "statistic", "z", "p_value", "q_value", "category",
           "neighbours"]
SHOWN_HEADERS = {"code": "Code", "name": "Naam", "category": "Categorie", "z": "z",
                 "q_value": "q (FDR)"}


class _LocalStatistic(ABC):
    """Shared settings, input checks and output table of the local statistics."""

    statistic_: np.ndarray
    z_: np.ndarray
    categories_: np.ndarray

    def __init__(self, alpha: float = 0.05, permutations: int | None = None,
                 seed: int = 0) -> None:
        self.alpha = alpha
        self.permutations = permutations
        self.seed = seed

    @abstractmethod
    def fit(self, values: pd.Series | np.ndarray, neighbours: Neighbours) -> Self:
        """Compute the statistic, its p- and q-values and categories."""

    def _check(self, values: pd.Series | np.ndarray, neighbours: Neighbours) -> np.ndarray:
        y = np.asarray(values, dtype=float)
        if y.shape != (neighbours.codes.size,):
            raise InputError(f"{integer(y.size)} waarden voor {integer(neighbours.codes.size)} gebieden")
        if np.isnan(y).any():
            raise InputError(f"{integer(np.isnan(y).sum())} ontbrekende waarden: laat die gebieden "
                             f"weg uit de gewichten")
        tested = neighbours.cardinality > 0
        if tested.sum() < 3:
            raise InputError("minder dan 3 gebieden met buren: niets te toetsen")
        self.permutations_ = permutations_for(int(tested.sum()), self.alpha, self.permutations)
        self.codes_ = neighbours.codes
        self.values_ = y
        self.window_ = neighbours.matrix @ y + y
        self.neighbours_ = neighbours.cardinality
        self.islands_ = list(neighbours.islands)
        return y

    def _significance(self, test: LocalSumTest, direction: np.ndarray) -> None:
        """p- and q-values over areas with neighbours; ``direction`` flips the tails (-1) or
        makes the statistic constant (0, p = 1)."""
        greater = np.where(direction < 0, test.less_equal, test.greater_equal)
        less = np.where(direction < 0, test.greater_equal, test.less_equal)
        p = LocalSumTest(greater, less, test.mean, test.std, test.permutations).p_values()
        p = np.where(direction == 0, 1.0, p)
        p[self.neighbours_ == 0] = np.nan
        self.p_values_ = p
        self.q_values_ = false_discovery(p)
        self.significant_ = np.nan_to_num(self.q_values_, nan=1.0) <= self.alpha

    def to_frame(self) -> pd.DataFrame:
        """One row per area: value, window sum (the area and its neighbours), statistic, z, p,
        q, category and number of neighbours."""
        return pd.DataFrame({
            "area_code": self.codes_, "value": self.values_, "window_sum": self.window_,
            "statistic": self.statistic_,
            "z": self.z_, "p_value": self.p_values_, "q_value": self.q_values_,
            "category": self.categories_, "neighbours": self.neighbours_,
        })[COLUMNS]


class GetisOrdHotspots(_LocalStatistic):
    r"""Getis-Ord :math:`G^*_i` hot and cold spots (esda's ``G_Local`` with ``star=True`` and
    binary weights, computed here from the window sums: :func:`gi_star`).

    Parameters
    ----------
    alpha
        FDR level (Benjamini-Hochberg) at which an area is a hot or cold spot.
    permutations
        Random windows per area; by default the smallest number that lets the FDR correction
        reject (:func:`~riskmap.models.significance.permutations_for`).
    seed
        Seed of the permutations.

    Attributes
    ----------
    statistic_ : np.ndarray
        :math:`G^*_i`.
    z_ : np.ndarray
        Getis-Ord z-score (analytical, as esda's ``Zs``), positive for high-value clusters.
    p_values_, q_values_ : np.ndarray
        Two-sided permutation p-values and their BH q-values (NaN for islands).
    categories_ : np.ndarray
        ``hotspot``, ``coldspot``, ``not_significant`` or ``no_neighbours``.

    Notes
    -----
    With binary weights :math:`w_{ij}` and :math:`w_{ii} = 1`,

    .. math:: G^*_i = \frac{\sum_j w_{ij} x_j}{\sum_j x_j}.

    The values must be non-negative: the statistic is a share of the total, meant for
    intensive variables such as scores and rates (or counts on equal cells). Inference uses
    total randomisation: the window of area :math:`i` (itself and its :math:`k_i` neighbours)
    is compared with :math:`k_i + 1` values drawn from all areas, the null under which Getis
    and Ord derive the moments of :math:`G^*_i`. (esda's ``p_sim`` holds :math:`x_i` fixed,
    under which :math:`G^*_i` and :math:`G_i` give the same p-values.)

    References: Getis, A., Ord, J.K. (1992). The analysis of spatial association by use of
    distance statistics. *Geographical Analysis* 24(3). Ord, J.K., Getis, A. (1995). Local
    spatial autocorrelation statistics. *Geographical Analysis* 27(4).
    """

    def fit(self, values: pd.Series | np.ndarray, neighbours: Neighbours) -> GetisOrdHotspots:
        """Compute :math:`G^*_i`, its permutation p-values, q-values and categories."""
        y = self._check(values, neighbours)
        if (y < 0).any():
            raise InputError("Gi* vraagt waarden van 0 of meer (een aandeel van het totaal); gebruik "
                             "local_moran voor een variabele met negatieve waarden")
        if y.sum() <= 0:
            raise InputError("Gi* vraagt een variabele die niet overal 0 is")
        test = local_sum_test(y, self.neighbours_ + 1, self.window_, self.permutations_,
                              self.seed, exclude_self=False)
        self.statistic_, self.z_ = gi_star(y, self.window_, self.neighbours_ + 1)
        self._significance(test, np.ones_like(y))
        categories = np.where(self.z_ > 0, "hotspot", "coldspot").astype(object)
        categories[~self.significant_] = NOT_SIGNIFICANT
        categories[self.neighbours_ == 0] = NO_NEIGHBOURS
        self.categories_ = categories
        return self


def gi_star(values: np.ndarray, window: np.ndarray,
            sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`G^*_i` and its z-score under total randomisation, from each area's window sum
    (``window``: its value and its neighbours') and window size (``sizes``: neighbours + 1).

    With :math:`n` areas, :math:`\bar x` and :math:`s^2` the mean and (population) variance of
    the values and :math:`k_i` the window's size: :math:`E[G^*_i] = k_i / n` and
    :math:`V[G^*_i] = \frac{k_i (n - k_i)}{(n - 1)\, n^2} \cdot \frac{s^2}{\bar x^2}`
    (Getis & Ord 1992; the moments esda's ``G_Local`` computes for binary weights with the
    area itself, without building its weights with a diagonal: 0.6 s for the Netherlands'
    buurten)."""
    n, total = len(values), values.sum()
    statistic = window / total
    mean = total / n
    variance = (values ** 2).sum() / n - mean ** 2
    sizes = sizes.astype(float)
    expected = sizes / n
    spread = sizes * (n - sizes) / (n - 1) / n ** 2 * variance / mean ** 2
    with np.errstate(divide="ignore", invalid="ignore"):  # all values alike: no z
        return statistic, (statistic - expected) / np.sqrt(spread)


class LocalMoranClusters(_LocalStatistic):
    r"""Local Moran's :math:`I_i` clusters and outliers (esda ``Moran_Local``, row-standardised).

    Parameters and attributes as :class:`GetisOrdHotspots`; ``statistic_`` is :math:`I_i`,
    ``z_`` its permutation z-score, and ``categories_`` one of
    ``high_high``, ``low_low``, ``high_low``, ``low_high``, ``not_significant``,
    ``no_neighbours``.

    Notes
    -----
    With :math:`z_i = x_i - \bar x`, :math:`m_2 = \sum_j z_j^2 / (n - 1)` and row-standardised
    weights over the :math:`k_i` neighbours,

    .. math:: I_i = \frac{z_i}{m_2} \cdot \frac{1}{k_i} \sum_{j \in N_i} z_j .

    Inference uses conditional randomisation (Anselin 1995): :math:`x_i` is held fixed and its
    neighbours are drawn from the other areas. Works for any sign of the variable.
    """

    def fit(self, values: pd.Series | np.ndarray, neighbours: Neighbours) -> LocalMoranClusters:
        """Compute :math:`I_i`, its permutation p-values, q-values and categories."""
        y = self._check(values, neighbours)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            moran = Moran_Local(y, neighbours.copy_of_weights(), transformation="r", permutations=0)
        lag_sum = neighbours.matrix @ y
        test = local_sum_test(y, self.neighbours_, lag_sum, self.permutations_, self.seed,
                              exclude_self=True)
        direction = np.sign(y - y.mean())
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = (lag_sum - test.mean) / test.std
        self.statistic_ = np.asarray(moran.Is, dtype=float)
        self.z_ = np.where(test.std > 0, direction * spread, 0.0)
        self._significance(test, direction)
        quadrant = {1: "high_high", 2: "low_high", 3: "low_low", 4: "high_low"}
        categories = np.array([quadrant[int(q)] for q in moran.q], dtype=object)
        categories[~self.significant_] = NOT_SIGNIFICANT
        categories[self.neighbours_ == 0] = NO_NEIGHBOURS
        self.categories_ = categories
        return self


ESTIMATORS: dict[str, type[_LocalStatistic]] = {"gi_star": GetisOrdHotspots,
                                                "local_moran": LocalMoranClusters}


def local_statistic(method: str, alpha: float = 0.05, permutations: int | None = None,
                    seed: int = 0) -> _LocalStatistic:
    """The estimator for ``method`` in ``{"gi_star", "local_moran"}``."""
    if method not in ESTIMATORS:
        raise InputError(f"methode {method!r} onbekend; kies uit {{{', '.join(METHODS)}}}")
    return ESTIMATORS[method](alpha=alpha, permutations=permutations, seed=seed)


def hotspot_table(values: pd.Series, neighbours: Neighbours, method: str = "gi_star",
                  alpha: float = 0.05, permutations: int | None = None,
                  seed: int = 0) -> pd.DataFrame:
    """Fit ``method`` on ``values`` (indexed by area code) and add the areas left out.

    Areas of ``values`` without a value, or not in ``neighbours``, get the category
    ``no_value`` (logged), so every area appears in the result exactly once. The number of
    permutations used is in ``table.attrs["permutations"]``.
    """
    present = values.reindex(neighbours.codes)
    if present.isna().any():
        raise InputError("elk gebied in de gewichten heeft een waarde nodig")
    estimator = local_statistic(method, alpha, permutations, seed).fit(present, neighbours)
    table = estimator.to_frame()
    missing = values.index.difference(pd.Index(neighbours.codes))
    if len(missing):
        log.warning("%s gebieden zonder waarde niet meegenomen in %s: %s", integer(len(missing)), method,
                    ", ".join(map(str, missing[:8])) + (" ..." if len(missing) > 8 else ""))
        rest = pd.DataFrame({"area_code": missing, "category": NO_VALUE})
        table = pd.concat([table, rest], ignore_index=True)
    table.attrs["permutations"] = estimator.permutations_
    flagged = table["category"].value_counts()
    log.debug("%s at FDR %.2g (%d permutations): %s", method, alpha, estimator.permutations_,
             ", ".join(f"{n} {c}" for c, n in flagged.items()))
    return table.sort_values("area_code", ignore_index=True)


def withhold_small_windows(table: pd.DataFrame, min_count: int = 5) -> pd.DataFrame:
    """For a count variable: mark significant areas whose window (the area and its neighbours)
    holds fewer than ``min_count`` records as ``withheld``, so that a hot spot never points at
    one or a few events. The input is not changed."""
    small = table["window_sum"].lt(threshold(min_count)) & ~table["category"].isin(
        [NOT_SIGNIFICANT, NO_NEIGHBOURS, NO_VALUE])
    if small.any():
        log.debug("privacy: %d significante cellen met minder dan %d registraties eromheen niet getoond",
                 int(small.sum()), threshold(min_count))
    return table.assign(category=table["category"].where(~small, WITHHELD))


def shown_hotspots(table: pd.DataFrame) -> pd.DataFrame:
    """The significant areas of a hotspot table, strongest first, with Dutch headers and
    labels; the variable's values are left out (they may be small counts)."""
    table = table.rename(columns={"area_code": "code"})
    significant = table[~table["category"].isin([NOT_SIGNIFICANT, NO_NEIGHBOURS, NO_VALUE,
                                                 WITHHELD])]
    order = significant.assign(strength=-significant["z"].abs()).sort_values(
        ["strength", "code"])
    shown = order[[c for c in SHOWN_HEADERS if c in order.columns]].copy()
    shown["category"] = shown["category"].map(CATEGORY_LABELS)
    shown["z"] = shown["z"].map(lambda z: number(z, 2))
    shown["q_value"] = shown["q_value"].map(lambda q: number(q, 3) if q >= 0.001 else "<0,001")
    return shown.rename(columns=SHOWN_HEADERS).reset_index(drop=True)
