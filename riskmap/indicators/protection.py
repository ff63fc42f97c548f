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
near the cell, the LP is solved over all atoms. The LPs are solved with COIN-OR Clp's dual simplex
(HiGHS where Clp is not installed; :mod:`riskmap.indicators.lp_solvers`).
Before any LP, a cheap sufficient test looks for a *swap*: moving events between an atom of the
small count and another atom in exactly the same shown cells, which the hidden cells around
them can absorb; most small counts are protected that way by other small counts. The small
counts are screened in chunks (swaps and LPs against the complements hidden a few chunks
before), by other processes from :data:`PARALLEL_FROM` small counts on, and only the few that
need complements are solved again here, in order (unless nothing their LPs read has changed
since). An alternative table that an LP finds with every shown cell kept brings other small
counts to an end of their interval too: those are proven and get no LP of their own; so are
those a table with complements brings there, once its complements are hidden. What a
screen knows is fixed by the order of the small counts, so the complements do not depend on
the number of processes.

References: Kelly, J.P., Golden, B.L., Assad, A.A. (1992). Cell suppression: disclosure
protection for sensitive tabular data. *Networks* 22, 397–417. Fischetti, M., Salazar-González,
J.J. (2000). Models and algorithms for optimizing cell suppression in tabular data with linear
constraints. *JASA* 95, 916–928. Hundepool, A. et al. (2012). *Statistical Disclosure Control*,
ch. 4 (Wiley).
"""

from __future__ import annotations

import logging
import mmap
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse

from riskmap._forked import can_fork, cores, fork_pool, settled
from riskmap.fmt import integer
from riskmap.indicators._native import Model, neighbourhoods, swap_test
from riskmap.indicators.lp_solvers import INF, Solution, lp_solver
from riskmap.sources._io import gather

log = logging.getLogger(__name__)

TOLERANCE = 1e-6


def knowledge_bounds(values: np.ndarray, min_count: int,
                     released: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """What an attacker knows of a hidden cell: ``[0, m-1]`` for a small count, else ``[m, inf)``;
    nothing (``[0, inf)``) of a cell no output shows, whatever its value."""
    small = values < min_count
    lower, upper = np.where(small, 0.0, float(min_count)), np.where(small, min_count - 1.0, INF)
    if released is not None:
        lower[~released], upper[~released] = 0.0, INF
    return lower, upper


def _distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by sorting: numpy's hash table costs twenty times as much for the
    few thousand cells or atoms of one LP."""
    ordered = np.sort(values)
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def _row(matrix: sparse.csr_matrix, row: int) -> np.ndarray:
    """The columns of one row of a compressed sparse matrix (a cell's atoms)."""
    return matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]


class _Groups:
    """``members`` (in group order) in groups of ``sizes`` (empty ones included); a group is
    sliced out when asked for (hundreds of thousands of groups, few of them asked for)."""

    def __init__(self, members: np.ndarray, sizes: np.ndarray) -> None:
        self.members = members
        self.starts = np.concatenate([[0], np.cumsum(sizes)])
        self.bounds = self.starts.tolist()

    def __getitem__(self, group: int) -> np.ndarray:
        return self.members[self.bounds[group]:self.bounds[group + 1]]


TRIES = 32  # partners a swap tries beyond the atoms next to it, before an LP decides
WIDE = 400  # cells with more atoms than this are constraints, not a source of atoms to move


class _Neighbourhood:
    r"""The release as an LP of deviations :math:`y = z' - z`, restricted to some atoms.

    Rows: the published cells the chosen atoms touch. Columns: :math:`y_a` for the chosen atoms
    (:math:`y_a \ge -z_a`), then per shown cell an increase :math:`p_c \ge 0` and a decrease
    :math:`0 \le q_c \le v_c - m` (each costing its weight), with :math:`A_c y = p_c - q_c`
    (a shown cell, once hidden, is known to be at least :math:`m`); a hidden cell keeps
    :math:`A_c z'` within what the attacker knows of it; the small count itself is set to its
    target. (One row per cell: slacks :math:`t_c \ge |A_c y|` took three, and HiGHS's time
    grows with the rows.)
    """

    def __init__(self, matrix: sparse.csr_matrix, columns: sparse.csc_matrix, atoms: np.ndarray,
                 values: np.ndarray, released: np.ndarray, cost: np.ndarray,
                 min_count: int, native: bool = True, solver: str = "clp") -> None:
        self.rows, self.columns = matrix, columns
        self.atoms, self.values, self.cost = atoms, values, cost
        self.lower, self.upper = knowledge_bounds(values, min_count, released)
        # each LP's neighbourhood and arrays made in C where it is built (_native.py), else in
        # numpy below
        self.native = neighbourhoods(
            (matrix.indptr, matrix.indices), (columns.indptr, columns.indices), atoms, values,
            (self.lower, self.upper), cost, min_count, WIDE) if native else None
        self.min_count = min_count
        self.width = np.diff(self.rows.indptr)
        self.targets = (0.0, min_count - 1.0)  # the ends a small count must be able to reach
        self._slot = np.zeros(len(values), dtype=np.int32)  # scratch: a cell's place in an LP
        # the cells whose hidden-or-shown state the LPs read, while a screen records them; and
        # the pairs (target index, cells) their tables reach with every shown cell kept
        self.read: list[np.ndarray] | None = None
        self.found: list[tuple[int, np.ndarray]] | None = None
        # while found is a list: the pairs the table of the last LP reaches when it needs
        # complements, which are proven once those are hidden
        self.settled: list[tuple[int, np.ndarray]] = []
        self.solver = lp_solver(solver)
        self.solution: Solution | None = None  # the optimum of the last LP

    def near(self, atoms: np.ndarray, hidden: np.ndarray) -> np.ndarray:
        """``atoms`` and the atoms of every cell that shares one with them, leaving out wide
        cells unless they are hidden close to the end of what the attacker knows of them (a
        change there must be made up for inside the cell)."""
        if self.native is not None:
            touching, near = self.native.near(atoms, hidden)
            if self.read is not None:
                self.read.append(touching)
            return near
        touching = _distinct(gather(self.columns.indptr, self.columns.indices, atoms)[0])
        if self.read is not None:
            self.read.append(touching)
        room = np.minimum(self.values[touching] - self.lower[touching],
                          self.upper[touching] - self.values[touching])
        binding = hidden[touching] & (room < self.min_count)
        wide = self.width[touching]
        touching = touching[(wide <= WIDE) | (binding & (wide <= WIDE * 20))]
        return _distinct(np.concatenate(
            [atoms, gather(self.rows.indptr, self.rows.indices, touching)[0]]))

    def own(self, cell: int) -> np.ndarray:
        """The atoms of ``cell``."""
        return _row(self.rows, cell)

    def reach(self, cell: int, target: float, hidden: np.ndarray, chosen: np.ndarray,
              relaxed: bool = False) -> np.ndarray | None:
        """Published cells to hide so that ``cell`` can be ``target`` (``None``: impossible).

        ``relaxed`` leaves out every cell with an atom outside ``chosen``: when even that is
        impossible, moving more atoms cannot help either. The hidden cells the LP's table
        brings to an end of their interval are recorded, when :attr:`found` is a list: in it
        when the table hides nothing (every shown cell kept), else in :attr:`settled` (proven
        once its complements are hidden).
        """
        self.settled = []
        lp = self.model(cell, target, hidden, chosen, relaxed)
        touched, shown = lp.touched, lp.shown
        if self.read is not None:
            self.read.append(touched)
        solution = self.solution = self.solver.solve(lp.arrays)
        if solution is None:
            return None
        change = solution.columns[len(chosen):].reshape(2, -1).sum(axis=0)
        extra = touched[shown][change > TOLERANCE]
        if self.found is not None and not relaxed:
            ends = self._ends(touched, ~shown, self.values[touched] + solution.rows)
            if len(extra):
                self.settled = ends
            else:
                self.found += ends
        return extra

    def model(self, cell: int, target: float, hidden: np.ndarray, chosen: np.ndarray,
              relaxed: bool = False) -> Model:
        """The LP :meth:`reach` solves (built in C where the helper is built, else
        :meth:`_lp`); its arrays are the helper's buffers, which the next LP overwrites."""
        return (self.native.lp if self.native is not None else self._lp)(
            cell, target, hidden, chosen, relaxed)

    def _lp(self, cell: int, target: float, hidden: np.ndarray, chosen: np.ndarray,
            relaxed: bool) -> Model:
        """The LP of :meth:`reach` in numpy (the C helper's ``riskmap_lp_models`` where
        built): columns, rows and entries in the same order."""
        sub_row, sub_col = gather(self.columns.indptr, self.columns.indices, chosen)
        touched = _distinct(sub_row)
        self._slot[touched] = np.arange(len(touched), dtype=np.int32)
        local = self._slot[sub_row]  # each entry's place among the touched cells
        free = np.zeros(len(touched), dtype=bool)
        if relaxed:
            free = np.bincount(local, minlength=len(touched)) < self.width[touched]
        shown = ~hidden[touched] & ~free
        n_y, n_t = len(chosen), int(shown.sum())
        values, known = self.values[touched], self.lower[touched]
        lower, upper = known - values, self.upper[touched] - values
        lower[free], upper[free] = -INF, INF
        lower[shown] = upper[shown] = 0.0
        at = np.flatnonzero(touched == cell)[0]
        lower[at] = upper[at] = target - values[at]
        rows = np.flatnonzero(shown)
        n_col = n_y + 2 * n_t
        # the entries come column by column (gather), each column's rows ascending
        indptr = np.concatenate([[0], np.cumsum(np.bincount(sub_col, minlength=n_y)),
                                 len(sub_col) + np.arange(1, 2 * n_t + 1)])
        return Model(touched, shown, (
            np.concatenate([np.zeros(n_y), np.tile(self.cost[touched][shown], 2)]),
            np.concatenate([-self.atoms[chosen], np.zeros(2 * n_t)]).astype(float),
            np.concatenate([np.full(n_y + n_t, INF), (values - known)[shown]]),
            lower, upper, indptr.astype(np.int32),
            np.concatenate([local, rows, rows]).astype(np.int32),
            np.concatenate([np.ones(len(local)), -np.ones(n_t), np.ones(n_t)]),
            np.zeros(n_col, dtype=np.int32)))  # every column continuous

    def _ends(self, touched: np.ndarray, hidden: np.ndarray,
              after: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """The pairs (target index, cells) an alternative table reaches: the ``hidden`` of the
        ``touched`` cells whose value in it (``after``) is at an end of their interval."""
        return [(which, touched[hidden & (np.abs(after - target) < TOLERANCE)])
                for which, target in enumerate(self.targets)]


class _Swaps:
    """Alternative tables that move events between two atoms in the same shown cells."""

    def __init__(self, matrix: sparse.csr_matrix, columns: sparse.csc_matrix, atoms: np.ndarray,
                 values: np.ndarray, shown: np.ndarray, released: np.ndarray,
                 min_count: int, native: bool = True) -> None:
        self.columns = columns
        self.atoms, self.values = atoms, values
        lower, upper = knowledge_bounds(values, min_count, released)
        self.rows = matrix
        # Candidate partners: atoms whose shown cells hash alike (two random 64-bit sums per
        # atom); moves are checked cell by cell, so a collision costs a try, never a leak.
        keys = np.random.default_rng(0).integers(1, 2**53, size=(2, len(values))).astype(float)
        first, second = (matrix.T @ (key * shown) for key in keys)
        # numbered by a hash table (in order of first appearance): only which atoms share a
        # number matters, as a group's atoms are kept in ascending order whatever its number
        self.signature = pd.factorize(first + 1j * second)[0]
        order = np.argsort(self.signature, kind="stable")
        n_groups = int(self.signature.max()) + 1 if len(order) else 0
        # every atom of a signature, as partner to take into; and those with events to give
        self.groups = _Groups(order, np.bincount(self.signature, minlength=n_groups))
        giving = order[atoms[order] > 0]
        self.donors = _Groups(giving, np.bincount(self.signature[giving], minlength=n_groups))
        # the same test in C where it is built (_native.py), else the Python below
        self.native = swap_test(
            (matrix.indptr, matrix.indices), (columns.indptr, columns.indices), atoms, values,
            (lower, upper), shown, self.signature, (self.groups.starts, order),
            (self.donors.starts, giving), TRIES, WIDE) if native else None
        # read per cell in Python loops: values, what the attacker knows of them, shown; widths
        self._lists = (values.tolist(), lower.tolist(), upper.tolist(), shown.tolist()) \
            if self.native is None else ([], [], [], [])
        self._widths = np.diff(matrix.indptr).tolist() if self.native is None else []
        self._cells: dict[int, frozenset[int]] = {}
        self._narrow_cells: dict[int, list[int]] = {}
        self._alike_atoms: dict[tuple[int, int, bool], list[int]] = {}

    def cells(self, atom: int) -> frozenset[int]:
        """The cells an atom counts towards."""
        found = self._cells.get(atom)
        if found is None:
            start, end = self.columns.indptr[atom], self.columns.indptr[atom + 1]
            found = self._cells[atom] = frozenset(self.columns.indices[start:end].tolist())
        return found

    def _fits(self, moves: list[tuple[int, float]], total: dict[int, float], cell: int) -> bool:
        """Whether every cell ``moves`` touch (on top of ``total``) is hidden and stays within
        what the attacker knows of it."""
        values, lower, upper, shown = self._lists
        for c, d in moves:
            if c == cell:
                continue
            value = values[c] + total.get(c, 0.0) + d
            if shown[c] or not lower[c] <= value <= upper[c]:
                return False
        return True

    def protects(self, cell: int, target: float) -> bool:
        """Whether swaps bring ``cell`` to ``target`` (then no complement is needed).

        Events move one atom pair at a time (greedily, several partners if needed); every
        cell the moves touch must be hidden and stay within what the attacker knows of it.
        """
        if self.native is not None:
            return self.native(cell, target)
        own = _row(self.rows, cell)
        inside = set(own.tolist())  # an atom counts towards the cell if it is one of these
        change = target - self.values[cell]
        total: dict[int, float] = {}
        taken: dict[int, float] = {}
        tries = 0
        for a in (own if change > 0 else own[self.atoms[own] > 0]).tolist():
            need = change if change > 0 else -self.atoms[a]
            if tries > 2 * TRIES:
                return False  # the tries are spent: no further atom can move anything
            for b in self.partners(a, inside, giving=need > 0):
                tries += 1
                if need == 0 or tries > 2 * TRIES:
                    break
                left = self.atoms[b] - taken.get(b, 0.0)
                if need > 0 and left <= 0:
                    continue
                amount = min(need, left) if need > 0 else need
                into, out = self.cells(a), self.cells(b)
                moves = [(c, amount) for c in into - out] + [(c, -amount) for c in out - into]
                if self._fits(moves, total, cell):
                    for c, d in moves:
                        total[c] = total.get(c, 0.0) + d
                    need -= amount
                    taken[b] = taken.get(b, 0.0) + amount
            if need != 0 and change < 0:
                return False
            if change > 0:
                change = need
                if change == 0:
                    return True
        return change <= 0

    def _narrow(self, atom: int) -> list[int]:
        """The hidden cells of at most :data:`WIDE` atoms that ``atom`` counts towards,
        narrowest first (remembered: a small count's atoms are asked for again and again)."""
        found = self._narrow_cells.get(atom)
        if found is None:
            width, shown = self._widths, self._lists[3]
            start, end = self.columns.indptr[atom], self.columns.indptr[atom + 1]
            found = self._narrow_cells[atom] = [  # ties in ascending order, as in C
                c for c in sorted(self.columns.indices[start:end].tolist(),
                                  key=width.__getitem__)
                if not shown[c] and width[c] <= WIDE]
        return found

    def _alike(self, cell: int, signature: int, giving: bool) -> list[int]:
        """The atoms of ``cell`` with this signature (and events, when they are to give)."""
        key = (cell, signature, giving)
        found = self._alike_atoms.get(key)
        if found is None:
            near = _row(self.rows, cell)
            near = near[(self.signature[near] == signature) & ((self.atoms[near] > 0) | (not giving))]
            found = self._alike_atoms[key] = near.tolist()
        return found

    def partners(self, atom: int, inside: set[int], giving: bool) -> Iterator[int]:
        """Atoms with the same shown cells as ``atom`` and not ``inside`` the small count's
        cell (with events, when they are to give some): first those sharing a narrow hidden
        cell with it, then at most :data:`TRIES` others."""
        signature = int(self.signature[atom])
        group = (self.donors if giving else self.groups)[signature]
        if len(group) < 2:
            return
        seen = {atom}
        for c in self._narrow(atom):
            for b in self._alike(c, signature, giving):
                if b not in seen and b not in inside:
                    seen.add(b)
                    yield b
        tries = 0
        for b in group.tolist() if len(group) <= TRIES else group[:4 * TRIES].tolist():
            if tries >= TRIES:
                return
            if b not in seen and b not in inside:
                tries += 1
                yield b


def complementary_suppression(matrix: sparse.csr_matrix | sparse.csc_matrix, atoms: np.ndarray,
                              primary: np.ndarray, released: np.ndarray, cost: np.ndarray,
                              min_count: int, processes: int | None = None) -> np.ndarray:
    """The cells to hide as complements so that no small count can be narrowed down.

    Parameters
    ----------
    matrix
        Cells × atoms, 1 where the atom counts towards the cell (compressed rows or columns).
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
    processes
        Processes that screen the small counts (default: one per available core, at most
        :data:`MAX_PROCESSES`, once there are :data:`PARALLEL_FROM` small counts, else none);
        the complements are the same.

    Returns
    -------
    np.ndarray
        Boolean per cell: hidden as a complement (secondary suppression).
    """
    values = np.asarray(matrix @ atoms, dtype=float)
    hidden = primary | ~released
    # both forms, each made only when the matrix comes in the other (entries in order)
    columns, matrix = matrix.tocsc(), matrix.tocsr()
    columns.sort_indices()
    matrix.sort_indices()
    start = _Screen(_Neighbourhood(matrix, columns, atoms, values, released, cost.astype(float),
                                   min_count),
                    _Swaps(matrix, columns, atoms, values, ~hidden, released, min_count), hidden,
                    _Proofs(len(values), 2))
    lp, hidden = start.lp, start.hidden.copy()  # this one grows as complements are hidden
    secondary = np.zeros(len(values), dtype=bool)
    unreachable = dict.fromkeys(lp.targets, 0)
    order = np.flatnonzero(primary)  # also small counts hidden for another reason
    # smallest first: a table that brings a hidden zero up to m - 1 takes events from the small
    # counts around it, which proves many of them can be 0 (on the national release: fewer LPs
    # and 8,366 complements instead of 8,420 with the largest first)
    order = order[np.argsort(values[order], kind="stable")]
    large = screened_apart(primary)
    if processes is None:
        processes = min(cores(), MAX_PROCESSES) if large else 1
    # a large release is screened in chunks ahead of the one solved here; a small one count by
    # count, just before it is solved (no LP twice); either way fixed by the release alone
    size, window = (CHUNK, WINDOW) if large else (1, 1)
    for chunk, pairs in _screened(start, order, hidden, processes, size, window):
        for cell, which, reachable, found in pairs:
            if start.proofs.chunk[which, cell] <= chunk:
                continue  # a table found since reaches it with every shown cell kept
            target, extra = lp.targets[which], None
            if reachable:
                extra = _reused(found, hidden)
                if extra is None:
                    lp.found = []
                    extra = _complements(lp, cell, target, hidden)
                    # settled is empty unless the last LP's table needed complements
                    start.proofs.add(lp.found + lp.settled, chunk)
                    lp.found = None
                elif found is not None:  # the screen's table holds as its complements are hidden
                    start.proofs.add(found.settled, chunk)
            if extra is None:
                unreachable[target] += 1
                continue
            hidden[extra] = secondary[extra] = True
    for target, count in unreachable.items():
        if count:
            log.warning("privacy: bij %s kleine aantallen kan geen onderdrukking %s een mogelijke "
                        "waarde maken (een aanvaller weet dat ze %s zijn)", integer(count),
                        integer(target), "niet 0" if target == 0 else "kleiner dan dat")
    return secondary


def screened_apart(primary: np.ndarray) -> bool:
    """Whether :func:`complementary_suppression` screens the small counts of a release with
    these ``primary`` cells in other processes (where it may fork), rather than here."""
    return int(np.count_nonzero(primary)) >= PARALLEL_FROM


# Screening: which (small count, target) pairs still need complements. Swaps do not depend on
# the complements hidden so far, and a target an LP reaches without touching a shown cell stays
# reachable when more cells are hidden (the same alternative table fits), as does a target no
# table reaches stay unreachable (a hidden cell that is no small count bounds the attacker as a
# shown one does). So the pairs can be screened against the cells hidden so far, in other
# processes, and only those that need complements are solved again, in order, against the cells
# hidden by then. A screen's complements are taken as they are when none of the cells its LPs
# read (whether hidden or shown) has been hidden since: the same LPs would be solved here.
# An alternative table an LP finds with every shown cell kept also brings other small counts to
# an end of their interval: those pairs are proven (:class:`_Proofs`) and need no LP of their
# own. A table with complements proves its pairs only once they are hidden: here, when its
# complements are taken (a screen's, through :func:`_reused`, or solved here).
# What a screen knows is fixed by the release alone: the small counts are screened in
# chunks, chunk k against the complements hidden and the pairs proven up to chunk k - WINDOW
# (of a release with fewer than PARALLEL_FROM small counts: one count a chunk, a window of one),
# whether it runs here or in another process, so the complements do not depend on the processes.
PARALLEL_FROM = 20_000  # small counts from which other processes screen them
MAX_PROCESSES = 4  # more would each hold their own memo, and this process solves in between
CHUNK = 200  # small counts screened per task
WINDOW = 4  # chunks screened ahead of the one whose pairs are solved here
NEVER = np.iinfo(np.int32).max


@dataclass
class _Found:
    """Complements a screen found for a pair, the cells its LPs read, and the cells hidden
    when it ran: the same LPs here would give the same complements while none of those cells
    has been hidden since. And the pairs its alternative table reaches: proven once the
    complements are hidden."""

    extra: np.ndarray
    read: np.ndarray
    hidden: np.ndarray
    settled: list[tuple[int, np.ndarray]]


class _Proofs:
    """For each target (index) and cell, the chunk whose LPs first found a table with every
    shown cell kept that brings the cell to the target (:data:`NEVER`: none yet), in memory
    that forked processes share: a screen reads the chunks before its own window only."""

    def __init__(self, cells: int, targets: int) -> None:
        size = cells * targets
        self._memory = mmap.mmap(-1, max(4 * size, 1))  # shared with processes forked later
        self.chunk = np.frombuffer(self._memory, dtype=np.int32, count=size).reshape(targets,
                                                                                     cells)
        self.chunk[:] = NEVER

    def add(self, found: list[tuple[int, np.ndarray]], chunk: int) -> None:
        """Record the pairs ``found`` (target index, cells) as proven by ``chunk``."""
        for which, cells in found:
            earliest = self.chunk[which]
            earliest[cells] = np.minimum(earliest[cells], chunk)


class _Screen(NamedTuple):
    """The release as the suppression starts: its LPs and swaps, the cells hidden (primary or
    not released) and the pairs proven so far."""

    lp: _Neighbourhood
    swaps: _Swaps
    hidden: np.ndarray
    proofs: _Proofs


# for each pair of a chunk that needs complements (or cannot be protected): cell, target index,
# whether reachable, and what its screen found; as a screen gives them (with the complements
# and the cells its LPs read), and the pairs its LPs proved
Pairs = list[tuple[int, int, bool, "_Found | None"]]
Screened = tuple[list[tuple[int, int, bool, Any, Any, Any]], list[tuple[int, np.ndarray]]]
_SCREEN: _Screen | None = None  # what the screens read (forked processes inherit it)


def _reused(found: _Found | None, hidden: np.ndarray) -> np.ndarray | None:
    """What solving a pair again against ``hidden`` would hide, where a screen's result tells:
    its complements when none of the cells its LPs read has been hidden since; nothing when
    all its complements have been hidden since (its alternative table then changes hidden
    cells only, so the LP near the cell, which only grows as cells are hidden, finds a table
    that hides nothing); else ``None`` (solve again)."""
    if found is None:
        return None
    if not (hidden[found.read] & ~found.hidden[found.read]).any():
        return found.extra
    if hidden[found.extra].all():
        return found.extra[:0]
    return None


def _screened(start: _Screen, order: np.ndarray, hidden: np.ndarray, processes: int,
              size: int, window: int) -> Iterator[tuple[int, Pairs]]:
    """Each chunk's number and its pairs that need complements or cannot be protected, in
    order, screened by ``processes`` forked processes (here when one), the pairs its LPs
    proved recorded. ``hidden`` is the caller's, growing as it hides complements: chunk k (of
    ``size`` small counts) is screened once the caller is done with chunk k - ``window``,
    against the complements hidden and the pairs proven by then."""
    global _SCREEN  # noqa: PLW0603 - what the screens read
    chunks = [order[i:i + size] for i in range(0, len(order), size)]
    apart = processes > 1 and can_fork()
    # here, the screens mark complements in their own copy of the cells hidden
    _SCREEN = start if apart else start._replace(hidden=start.hidden.copy())
    out: deque[tuple[Future[Screened], np.ndarray]] = deque()

    def taken(k: int) -> tuple[int, Pairs]:
        task, then = out.popleft()
        found, proofs = task.result()
        start.proofs.add(proofs, k)
        return k, [(cell, which, reachable,
                    None if extra is None else _Found(extra, read, then, reached))
                   for cell, which, reachable, extra, read, reached in found]

    with settled():
        pool = fork_pool(processes) if apart else None
        try:
            for k, chunk in enumerate(chunks):
                if len(out) == window:
                    yield taken(k - window)
                task = (chunk, np.flatnonzero(hidden & ~start.hidden), k - window)
                if pool is None:
                    future: Future[Screened] = Future()
                    future.set_result(_screen(*task))
                else:
                    future = pool.submit(_screen, *task)
                out.append((future, hidden.copy()))
            while out:
                yield taken(len(chunks) - len(out))
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            _SCREEN = None


def _screen(cells: np.ndarray, complements: np.ndarray, known_through: int) -> Screened:
    """The pairs of ``cells`` that need complements (reachable, with them and the cells the
    LPs read) or cannot be protected (not reachable), with ``complements`` hidden too and the
    pairs proven up to chunk ``known_through`` known; and the pairs its LPs proved."""
    assert _SCREEN is not None
    lp, hidden, swaps = _SCREEN.lp, _SCREEN.hidden, _SCREEN.swaps
    hidden[complements] = True
    known = _SCREEN.proofs.chunk <= known_through
    found: list[tuple[int, int, bool, Any, Any, Any]] = []
    proofs: list[tuple[int, np.ndarray]] = []
    for cell in cells.tolist():
        # the upper end first, for the reason the smallest counts come first (see
        # complementary_suppression; nationally 8,167 complements instead of 8,366, as fast)
        for which in reversed(range(len(lp.targets))):
            target = lp.targets[which]
            if lp.values[cell] == target or known[which, cell] or swaps.protects(cell, target):
                continue
            lp.read, lp.found = [], []
            extra = _complements(lp, cell, target, hidden)
            for proven, at in lp.found:
                known[proven, at] = True
            proofs += lp.found
            if extra is None:
                found.append((cell, which, False, None, None, None))
            elif len(extra):
                found.append((cell, which, True, extra, _distinct(np.concatenate(lp.read)),
                              lp.settled))
    lp.read = lp.found = None
    return found, proofs


def _complements(lp: _Neighbourhood, cell: int, target: float,
                 hidden: np.ndarray) -> np.ndarray | None:
    """The cells to hide so that ``cell`` can be ``target``: moving the atoms near it, then
    those one step further, then all atoms (``None``: no suppression makes it possible)."""
    near = lp.near(lp.own(cell), hidden)
    extra = lp.reach(cell, target, hidden, near)
    if extra is not None or lp.reach(cell, target, hidden, near, relaxed=True) is None:
        return extra
    wider = lp.near(near, hidden)
    extra = lp.reach(cell, target, hidden, wider)
    if extra is not None or lp.reach(cell, target, hidden, wider, relaxed=True) is None:
        return extra
    return lp.reach(cell, target, hidden, np.arange(lp.columns.shape[1]))
