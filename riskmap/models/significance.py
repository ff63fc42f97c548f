r"""Permutation inference for local statistics: one place for pseudo p-values and FDR control.

Local statistics such as Getis-Ord :math:`G^*_i` and local Moran's :math:`I_i` are, for binary
weights, monotone functions of a *local sum* :math:`S_i = \sum_{j \in N_i} x_j` over a window
:math:`N_i` (the area's neighbours, with or without the area itself). Their permutation test
compares the observed :math:`S_i` with sums over windows of the same size drawn at random:

* ``exclude_self=False`` (*total randomisation*): the window's values are drawn from all
  :math:`n` values. This is the null under which Getis and Ord derive the moments of
  :math:`G^*_i`, whose window contains the area itself.
* ``exclude_self=True`` (*conditional randomisation*, Anselin 1995): the area's own value is
  held fixed and the window is drawn from the other :math:`n - 1` values, as for local Moran.

Notes
-----
With :math:`P` permutations, :math:`a_i = \#\{S^{(p)}_i \ge S_i\}` and
:math:`b_i = \#\{S^{(p)}_i \le S_i\}`, the pseudo p-values are

.. math:: p^{\text{greater}}_i = \frac{a_i + 1}{P + 1}, \quad
          p^{\text{less}}_i = \frac{b_i + 1}{P + 1}, \quad
          p^{\text{two-sided}}_i = \min\left(1, 2 \min(p^{\text{greater}}_i,
          p^{\text{less}}_i)\right).

esda's ``p_sim`` is the one-sided value in the direction of the observation
(:math:`\min(p^{\text{greater}}, p^{\text{less}})`); doubling it gives the two-sided test. The
smallest attainable two-sided p-value is :math:`2 / (P + 1)`; for Benjamini-Hochberg at level
:math:`\alpha` over :math:`n` areas to be able to reject at all it must not exceed
:math:`\alpha / n`, hence :func:`permutations_for` picks :math:`P \ge 2n/\alpha - 1`.

All windows share one seeded draw of :math:`P` random sequences of distinct area indices (as
esda's ``crand`` does); a window of size :math:`m` uses the first :math:`m` entries of each
sequence, a uniformly random :math:`m`-subset. Under conditional randomisation the area itself
is skipped: if it appears among the first :math:`m` entries, entry :math:`m + 1` takes its place,
which leaves a uniformly random :math:`m`-subset of the other areas. Counting is then a binary
search per area, so :math:`n = 10\,000` areas with :math:`P = 9\,999` take well under a second.

References: Anselin, L. (1995). Local indicators of spatial association - LISA. *Geographical
Analysis* 27(2). Benjamini, Y., Hochberg, Y. (1995). Controlling the false discovery rate.
*JRSS B* 57(1).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from riskmap.errors import InputError
from riskmap.fmt import integer, number

log = logging.getLogger(__name__)

ALTERNATIVES = ("two-sided", "greater", "less")
MIN_PERMUTATIONS = 999
MAX_PERMUTATIONS = 99_999
# Rows of random keys sorted at once when windows are too large for rejection sampling.
_SORT_BLOCK = 2_000_000


@dataclass(frozen=True)
class LocalSumTest:
    """How each area's local sum compares with its permutation distribution.

    Attributes
    ----------
    greater_equal, less_equal
        Number of permuted sums at least / at most the observed sum (ties count in both).
    mean, std
        Mean and standard deviation of the permuted sums (for a permutation z-score).
    permutations
        The number of permutations :math:`P`.
    """

    greater_equal: np.ndarray
    less_equal: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    permutations: int

    def p_values(self, alternative: str = "two-sided") -> np.ndarray:
        """Pseudo p-values of the observed sums (see the module notes)."""
        return p_values_from_counts(self.greater_equal, self.less_equal, self.permutations,
                                    alternative)


def check_alternative(alternative: str) -> str:
    """Return ``alternative`` if it is one of :data:`ALTERNATIVES`, else raise."""
    if alternative not in ALTERNATIVES:
        raise InputError(f"alternatief {alternative!r} onbekend; kies uit "
                         f"{{{', '.join(ALTERNATIVES)}}}")
    return alternative


def p_values_from_counts(greater_equal: np.ndarray, less_equal: np.ndarray, permutations: int,
                         alternative: str = "two-sided") -> np.ndarray:
    """Pseudo p-values from permutation counts, for ``alternative`` in
    ``{"two-sided", "greater", "less"}``."""
    check_alternative(alternative)
    greater = (np.asarray(greater_equal, float) + 1) / (permutations + 1)
    less = (np.asarray(less_equal, float) + 1) / (permutations + 1)
    if alternative == "greater":
        return greater
    if alternative == "less":
        return less
    return np.minimum(1.0, 2 * np.minimum(greater, less))


def permutations_for(n: int, alpha: float, requested: int | None = None,
                     cap: int = MAX_PERMUTATIONS) -> int:
    """The number of permutations for ``n`` two-sided tests at FDR level ``alpha``.

    Without ``requested``: the smallest :math:`P \\ge 999` whose smallest two-sided p-value
    :math:`2 / (P + 1)` is at most :math:`\\alpha / n`, capped at ``cap`` (logged: the cap then
    limits how small a p-value can get). A ``requested`` number is used as given, with a warning
    when it is below that minimum.
    """
    if not 0 < alpha < 1:
        raise InputError(f"alfa moet tussen 0 en 1 liggen, niet {alpha}")
    needed = max(MIN_PERMUTATIONS, math.ceil(2 * n / alpha) - 1)
    if requested is not None:
        if requested < 1:
            raise InputError(f"het aantal permutaties moet minstens 1 zijn, niet {requested}")
        if requested < needed:
            log.warning("%s permutaties voor %s gebieden: de kleinste p-waarde, 2/%s, is groter "
                        "dan alfa/n = %s/%s, dus na FDR-correctie kan niets significant zijn; "
                        "gebruik er minstens %s", integer(requested), integer(n),
                        integer(requested + 1), number(alpha, 2), integer(n), integer(needed))
        return int(requested)
    if needed > cap:
        log.warning("%s gebieden bij alfa %s vragen %s permutaties; begrensd op %s",
                    integer(n), number(alpha, 2), integer(needed), integer(cap))
        return cap
    return needed


def false_discovery(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN and is not counted."""
    p = np.asarray(p_values, dtype=float)
    q = np.full_like(p, np.nan)
    present = ~np.isnan(p)
    if present.any():
        q[present] = stats.false_discovery_control(p[present], method="bh")
    return q


def local_sum_test(values: np.ndarray, window: np.ndarray, observed: np.ndarray,
                   permutations: int, seed: int, exclude_self: bool) -> LocalSumTest:
    """Permutation test of local sums.

    Parameters
    ----------
    values
        The variable, one value per area (no missing values).
    window
        Number of values in each area's random window: its neighbour count, plus one when the
        window includes the area itself.
    observed
        Each area's observed local sum over its window.
    permutations
        Number of random windows per area.
    seed
        Seed of the random draws.
    exclude_self
        Draw each window from the other areas only (conditional randomisation), or from all
        areas (total randomisation).

    Returns
    -------
    LocalSumTest
        Counts of permuted sums at least and at most the observed sums, and their moments.
    """
    x = np.asarray(values, dtype=float)
    size = np.asarray(window, dtype=np.int64)
    n = x.size
    longest = int(size.max(initial=0)) + int(exclude_self)
    if longest > n:
        raise InputError(f"een venster van {longest} waarden is niet te trekken uit {n} gebieden")
    draws = _distinct_draws(np.random.default_rng(seed), n, longest, permutations)
    sums = np.zeros((permutations, longest + 1))
    np.cumsum(x[draws], axis=1, out=sums[:, 1:])
    tol = 1e-9 * max(1.0, float(np.abs(x).max(initial=0)) * max(longest, 1))
    counts = _counts_by_size(sums, size, observed, tol)
    if exclude_self:
        _skip_self(counts, sums, draws, x, size, observed, tol)
    total, squares, ge, le = counts
    mean = total / permutations
    std = np.sqrt(np.maximum(squares / permutations - mean**2, 0.0))
    return LocalSumTest(ge, le, mean, std, permutations)


def _distinct_draws(rng: np.random.Generator, n: int, m: int, rows: int) -> np.ndarray:
    """``rows`` uniformly random ordered sequences of ``m`` distinct indices below ``n``."""
    if m == 0:
        return np.zeros((rows, 0), dtype=np.int64)
    if m * (m - 1) < 2 * n:
        # fewer than one expected repeat per row: draw with replacement, redraw rows with repeats
        draws = rng.integers(n, size=(rows, m))
        while True:
            ordered = np.sort(draws, axis=1)
            bad = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
            if not bad.size:
                return draws
            draws[bad] = rng.integers(n, size=(bad.size, m))
    block = max(1, _SORT_BLOCK // n)
    return np.vstack([np.argsort(rng.random((min(block, rows - start), n)), axis=1)[:, :m]
                      for start in range(0, rows, block)])


def _counts_by_size(sums: np.ndarray, size: np.ndarray, observed: np.ndarray,
                    tol: float) -> list[np.ndarray]:
    """Sum, sum of squares and tie-inclusive counts of the permuted sums, per area."""
    n = size.size
    total, squares = np.zeros(n), np.zeros(n)
    ge, le = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for m in np.unique(size):
        column = np.sort(sums[:, m])
        rows = size == m
        ge[rows] = column.size - np.searchsorted(column, observed[rows] - tol, side="left")
        le[rows] = np.searchsorted(column, observed[rows] + tol, side="right")
        total[rows] = column.sum()
        squares[rows] = (column**2).sum()
    return [total, squares, ge, le]


def _skip_self(counts: list[np.ndarray], sums: np.ndarray, draws: np.ndarray, x: np.ndarray,
               size: np.ndarray, observed: np.ndarray, tol: float) -> None:
    """Correct the counts for draws whose window held the area itself (conditional case).

    In such a row the area is replaced by the next entry: the sum over ``size + 1`` entries
    minus the area's own value.
    """
    row, column = (index.ravel() for index in np.indices(draws.shape))
    area = draws.ravel()
    hit = column < size[area]
    row, area = row[hit], area[hit]
    old = sums[row, size[area]]
    new = sums[row, size[area] + 1] - x[area]
    n = x.size
    total, squares, ge, le = counts
    total += np.bincount(area, new - old, minlength=n)
    squares += np.bincount(area, new**2 - old**2, minlength=n)
    limit = observed[area]
    ge += np.bincount(area, (new >= limit - tol).astype(float) - (old >= limit - tol),
                      minlength=n).astype(np.int64)
    le += np.bincount(area, (new <= limit + tol).astype(float) - (old <= limit + tol),
                      minlength=n).astype(np.int64)
