"""The differencing attacker of the privacy tests, independent of the package's suppression.

The attacker knows every shown cell exactly, that every atom is non-negative, and of every
hidden cell whether it is below the minimum (shown as ``<5``) or not. A hidden small count is
narrowed when no table it cannot rule out puts the count at 0, or none at ``minimum - 1``. Each
end is an LP (HiGHS) over the atoms; every table found is checked and shows the ends of all the
small counts it puts there reachable too, which then get no LP of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import highspy
import numpy as np
from scipy import sparse

from riskmap.indicators.lp_solvers import quiet_highs

TOLERANCE = 1e-6  # a found table's values against the attacker's bounds (HiGHS: 1e-7)


class Attacker:
    """Cells (rows of ``matrix``) over atoms with true counts ``atoms``; ``shown`` the cells
    published as they are."""

    def __init__(self, matrix: sparse.csr_matrix, atoms: np.ndarray, shown: np.ndarray,
                 minimum: int = 5) -> None:
        self.matrix, self.columns = matrix.tocsr(), matrix.tocsc()
        self.atoms = atoms.astype(float)
        self.values = self.matrix @ self.atoms
        self.small = ~shown & (self.values < minimum)
        self.lower = np.where(shown, self.values, np.where(self.small, 0.0, minimum))
        self.upper = np.where(shown, self.values,
                              np.where(self.small, minimum - 1.0, highspy.kHighsInf))
        self.ends = (0.0, minimum - 1.0)
        self.highs = quiet_highs()

    def table(self, cell: int, target: float,
              columns: np.ndarray | None = None) -> np.ndarray | None:
        """A table (the atoms) the attacker cannot rule out with ``cell`` at ``target``, or
        ``None``. Only the atoms in ``columns`` may differ from the true table (a table found
        that way is one the attacker cannot rule out; ``None``: all atoms)."""
        columns = np.arange(self.matrix.shape[1]) if columns is None else columns
        sub = self.columns[:, columns].tocsr()
        rows = np.flatnonzero(np.diff(sub.indptr))
        sub = sub[rows].tocsc()
        rest = self.values[rows] - sub @ self.atoms[columns]  # what the fixed atoms contribute
        lower, upper = self.lower[rows] - rest, self.upper[rows] - rest
        at = np.flatnonzero(rows == cell)[0]
        lower[at] = upper[at] = target - rest[at]
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(columns), len(rows)
        lp.col_cost_ = np.zeros(len(columns))
        lp.col_lower_ = np.zeros(len(columns))
        lp.col_upper_ = np.full(len(columns), highspy.kHighsInf)
        lp.row_lower_, lp.row_upper_ = lower, upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_ = sub.indptr, sub.indices
        lp.a_matrix_.value_ = sub.data
        self.highs.clearModel()
        self.highs.passModel(lp)
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        table = self.atoms.copy()
        table[columns] = self.highs.getSolution().col_value
        return table

    def reached(self, table: np.ndarray) -> np.ndarray:
        """Cells × ends: the hidden small counts ``table`` puts at each end of their interval;
        none unless the table is one the attacker cannot rule out (checked here)."""
        values = self.matrix @ table
        if not ((table >= -TOLERANCE).all() and (values >= self.lower - TOLERANCE).all()
                and (values <= self.upper + TOLERANCE).all()):
            return np.zeros((len(values), len(self.ends)), dtype=bool)
        return np.column_stack([self.small & (np.abs(values - end) <= TOLERANCE)
                                for end in self.ends])

    def narrowed(self, cells: Iterable[int],
                 near: Callable[[int], np.ndarray] | None = None) -> list[tuple[int, float]]:
        """The (cell, end) pairs of the hidden small ``cells`` the attacker can rule out. With
        ``near``, each end is first tried moving only the atoms ``near(cell)``, then all."""
        reached = self.reached(self.atoms)  # the true table
        out = []
        for cell in cells:
            for end, target in enumerate(self.ends):
                if reached[cell, end]:
                    continue
                table = self.table(int(cell), target, near(int(cell))) if near else None
                if table is None:
                    table = self.table(int(cell), target)
                if table is None:
                    out.append((int(cell), target))
                else:
                    reached |= self.reached(table)
        return out
