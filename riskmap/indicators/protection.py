r"""Secondary (complementary) cell suppression over linked count tables, by linear programming.

The published counts of a quarter are cells over *atoms*: the finest pieces of the events an
attacker could tell apart (an event class in one buurt × analysis areas × grid cell × branch).
Cell :math:`c` counts :math:`v_c = A_c z` events, with :math:`z \ge 0` the atoms' true counts.
An attacker knows every published cell exactly, every atom is non-negative, and of every hidden
cell whether it is a small count (shown as ``<5``: :math:`0 \le A_c z \le m-1`) or not
(:math:`A_c z \ge m`). A hidden small count :math:`p` is protected when both :math:`A_p z' = 0`
and :math:`A_p z' = m-1` are reachable by some :math:`z' \ge 0` that agrees with all of that:
the attacker then learns nothing beyond ``<5`` (the feasible values form an interval).

Method (Kelly, Golden & Assad, 1992; Fischetti & Salazar-González, 2000, single-cell
protection solved sequentially): for each small count and each end of its protection
interval, one LP finds the alternative table :math:`z'` that reaches the end while changing the
published cells as little as possible (weighted :math:`\ell_1`); every published cell it has
to change is suppressed as a complement. Hiding more cells only widens the attacker's
intervals, so cells protected earlier stay protected. Each LP moves only the atoms near the
small count (those of the cells it shares an atom with, leaving out very wide cells such as
the gemeente total) and holds every other atom fixed: a table found that way is a valid
alternative table of the whole release, so the protection holds; when no such table exists
near the cell, the LP is solved over all atoms. The LPs are solved with HiGHS (``highspy``).
Before any LP, a cheap sufficient test looks for a *swap*: moving events between an atom of the
small count and another atom in exactly the same shown cells, which the hidden cells around
them can absorb; most small counts are protected that way by other small counts.

References: Kelly, J.P., Golden, B.L., Assad, A.A. (1992). Cell suppression: disclosure
protection for sensitive tabular data. *Networks* 22, 397–417. Fischetti, M., Salazar-González,
J.J. (2000). Models and algorithms for optimizing cell suppression in tabular data with linear
constraints. *JASA* 95, 916–928. Hundepool, A. et al. (2012). *Statistical Disclosure Control*,
ch. 4 (Wiley).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import highspy
import numpy as np
from scipy import sparse

from riskmap.fmt import integer

log = logging.getLogger(__name__)

INF = highspy.kHighsInf


def quiet_highs() -> highspy.Highs:
    """A HiGHS solver that prints nothing (it writes a banner to standard output when made)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with Path(os.devnull).open("w") as null:
            os.dup2(null.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    highs.setOptionValue("output_flag", False)
    return highs
TOLERANCE = 1e-6


def knowledge_bounds(values: np.ndarray, min_count: int) -> tuple[np.ndarray, np.ndarray]:
    """What an attacker knows of a hidden cell: ``[0, m-1]`` for a small count, else ``[m, inf)``."""
    small = values < min_count
    return np.where(small, 0.0, float(min_count)), np.where(small, min_count - 1.0, INF)


WIDE = 400  # cells with more atoms than this are constraints, not a source of atoms to move


class _Neighbourhood:
    r"""The release as an LP of deviations :math:`y = z' - z`, restricted to some atoms.

    Columns: :math:`y_a` for the chosen atoms (:math:`y_a \ge -z_a`), then one slack
    :math:`t_c \ge 0` per published cell touched (costing its weight), with
    :math:`-t_c \le A_c y \le t_c`; a hidden cell keeps :math:`A_c z'` within what the
    attacker knows of it; the small count itself is set to its target.
    """

    def __init__(self, matrix: sparse.csr_matrix, atoms: np.ndarray, values: np.ndarray,
                 cost: np.ndarray, min_count: int) -> None:
        self.rows, self.columns = matrix, matrix.tocsc()
        self.atoms, self.values, self.cost = atoms, values, cost
        self.lower, self.upper = knowledge_bounds(values, min_count)
        self.width = np.diff(self.rows.indptr)
        self.highs = quiet_highs()
        for option, value in (("output_flag", False), ("presolve", "off"),
                              ("solver", "simplex")):
            self.highs.setOptionValue(option, value)

    def near(self, cell: int) -> np.ndarray:
        """The atoms of ``cell`` and of every not-too-wide cell that shares an atom with it."""
        own = self.rows.indices[self.rows.indptr[cell]:self.rows.indptr[cell + 1]]
        touching = np.unique(self.columns[:, own].indices)
        touching = touching[self.width[touching] <= WIDE]
        return np.unique(np.concatenate([own, self.rows[touching].indices]))

    def reach(self, cell: int, target: float, hidden: np.ndarray,
              chosen: np.ndarray) -> np.ndarray | None:
        """Published cells to hide so that ``cell`` can be ``target`` (``None``: impossible)."""
        sub = self.columns[:, chosen].tocoo()
        touched, local = np.unique(sub.row, return_inverse=True)
        shown = ~hidden[touched]
        n_y, n_r, n_t = len(chosen), len(touched), int(shown.sum())
        slot = np.cumsum(shown) - 1  # index of each shown row among the slacks
        values = self.values[touched]
        lower = self.lower[touched] - values  # a shown cell, once hidden, is known to be >= m
        upper = np.where(shown, INF, self.upper[touched]) - values
        at = np.flatnonzero(touched == cell)[0]
        lower[at] = upper[at] = target - values[at]
        on_shown = shown[local]
        rows = np.concatenate([local, n_r + slot[local[on_shown]], n_r + n_t + slot[local[on_shown]],
                               n_r + np.arange(n_t), n_r + n_t + np.arange(n_t)])
        cols = np.concatenate([sub.col, sub.col[on_shown], sub.col[on_shown],
                               n_y + np.arange(n_t), n_y + np.arange(n_t)])
        data = np.concatenate([np.ones(len(sub.col) + 2 * int(on_shown.sum())),
                               -np.ones(n_t), np.ones(n_t)])
        a = sparse.csc_matrix((data, (rows, cols)), shape=(n_r + 2 * n_t, n_y + n_t))
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_y + n_t, a.shape[0]
        lp.col_cost_ = np.concatenate([np.zeros(n_y), self.cost[touched][shown]])
        lp.col_lower_ = np.concatenate([-self.atoms[chosen], np.zeros(n_t)])
        lp.col_upper_ = np.full(n_y + n_t, INF)
        lp.row_lower_ = np.concatenate([lower, np.full(n_t, -INF), np.zeros(n_t)])
        lp.row_upper_ = np.concatenate([upper, np.zeros(n_t), np.full(n_t, INF)])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_ = a.indptr, a.indices
        lp.a_matrix_.value_ = a.data
        self.highs.clearModel()
        self.highs.passModel(lp)
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        t = np.asarray(self.highs.getSolution().col_value[n_y:])
        return touched[shown][t > TOLERANCE]


class _Swaps:
    """Alternative tables that move events between two atoms in the same shown cells."""

    def __init__(self, matrix: sparse.csr_matrix, atoms: np.ndarray, values: np.ndarray,
                 shown: np.ndarray, min_count: int) -> None:
        columns = matrix.tocsc()
        self.cells = [frozenset(columns.indices[columns.indptr[j]:columns.indptr[j + 1]].tolist())
                      for j in range(columns.shape[1])]
        self.atoms, self.values = atoms, values
        self.lower, self.upper = knowledge_bounds(values, min_count)
        self.groups: dict[frozenset[int], list[int]] = {}
        for j, cells in enumerate(self.cells):
            key = frozenset(c for c in cells if shown[c])
            self.groups.setdefault(key, []).append(j)
        self.signature = {j: key for key, members in self.groups.items() for j in members}
        self.rows = matrix

    def _fits(self, moves: dict[int, float], cell: int) -> bool:
        return all(self.lower[c] <= self.values[c] + d <= self.upper[c]
                   for c, d in moves.items() if c != cell)

    def protects(self, cell: int, target: float) -> bool:
        """Whether swaps bring ``cell`` to ``target`` (then no complement is needed).

        Events move one atom pair at a time (greedily, several partners if needed); every
        hidden cell the moves touch must stay within what the attacker knows of it.
        """
        own = self.rows.indices[self.rows.indptr[cell]:self.rows.indptr[cell + 1]]
        change = target - self.values[cell]
        total: dict[int, float] = {}
        left = self.atoms.copy()
        for a in (own if change > 0 else own[self.atoms[own] > 0]):
            need = change if change > 0 else -self.atoms[a]
            for b in self.groups[self.signature[int(a)]]:
                if need == 0:
                    break
                if b == a or cell in self.cells[b] or (need > 0 and left[b] <= 0):
                    continue
                amount = min(need, left[b]) if need > 0 else need
                trial = dict(total)
                for c in self.cells[int(a)] - self.cells[b]:
                    trial[c] = trial.get(c, 0.0) + amount
                for c in self.cells[b] - self.cells[int(a)]:
                    trial[c] = trial.get(c, 0.0) - amount
                if self._fits(trial, cell):
                    total, need = trial, need - amount
                    left[b] -= amount
            if need != 0 and change < 0:
                return False
            if change > 0:
                change = need
                if change == 0:
                    return True
        return change <= 0


def complementary_suppression(matrix: sparse.csr_matrix, atoms: np.ndarray,
                              primary: np.ndarray, released: np.ndarray, cost: np.ndarray,
                              min_count: int) -> np.ndarray:
    """The cells to hide as complements so that no small count can be narrowed down.

    Parameters
    ----------
    matrix
        Cells × atoms, 1 where the atom counts towards the cell.
    atoms
        True count per atom.
    primary
        Cells hidden by the primary rules (small count, small group), also where no output
        would show them (a small count behind a too small denominator can still be
        recovered by differencing).
    released
        Cells an output would show (the others are hidden for other reasons, e.g. a small
        denominator, and protect for free).
    cost
        Weight of hiding each cell (higher = kept shown where possible).
    min_count
        The privacy minimum :math:`m`.

    Returns
    -------
    np.ndarray
        Boolean per cell: hidden as a complement (secondary suppression).
    """
    values = np.asarray(matrix @ atoms, dtype=float)
    hidden = primary | ~released
    lp = _Neighbourhood(matrix, atoms, values, cost.astype(float), min_count)
    swaps = _Swaps(matrix, atoms, values, ~hidden, min_count)
    everything = np.arange(matrix.shape[1])
    secondary = np.zeros(len(values), dtype=bool)
    order = np.flatnonzero(primary)  # also small counts hidden for another reason
    order = order[np.argsort(-values[order], kind="stable")]
    for cell in order:
        for target in (0.0, min_count - 1.0):
            if values[cell] == target or swaps.protects(int(cell), target):
                continue
            near = lp.near(int(cell))
            extra = lp.reach(int(cell), target, hidden, near)
            if extra is None:
                extra = lp.reach(int(cell), target, hidden, everything)
            if extra is None:
                log.warning("privacy: cel %d: geen onderdrukking maakt %s een mogelijke waarde", cell,
                            integer(target))
                continue
            hidden[extra] = secondary[extra] = True
    return secondary
