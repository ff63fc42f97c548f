"""The complementary suppression's inner loops in C (the helper ``suppression.c``).

:mod:`riskmap.indicators.protection` asks the swap test (:class:`~.protection._Swaps`) ~230,000
times on the national release, at ~70 µs each in Python, nearly all of it the interpreter's; and
for each of its ~40,000 LPs it gathers the atoms near a small count and the cells they touch,
and builds the LP (:class:`~.protection._Neighbourhood`), in some forty small numpy calls. The
helper does both step for step as the Python does (the same partners in the same order with the
same tries; the same arrays in the same order), so the complements do not depend on which one
ran (the tests compare them). ``make`` builds it (``scripts/build-native``); where it is not built, or is of
another version, :func:`swap_test` and :func:`neighbourhoods` give ``None`` and riskmap runs
the Python.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from riskmap._clib import c_library

log = logging.getLogger(__name__)

LIBRARY = Path(__file__).with_name("libsuppression.so")
VERSION = 3  # RISKMAP_SUPPRESSION_VERSION of suppression.c
_P = ctypes.c_void_p

# the pointer fields of the C structs, in order
_SWAPS = ("row_ptr", "row_idx", "col_ptr", "col_idx", "width", "atoms", "values", "lower",
          "upper", "shown", "signature", "group_ptr", "group_atoms", "donor_ptr",
          "donor_atoms", "inside", "seen", "taken_at", "total_at", "taken", "total", "narrow",
          "cells", "deltas")
_LP = ("row_ptr", "row_idx", "col_ptr", "col_idx", "width", "values", "lower", "upper",
       "cell_mark", "atom_mark", "slot", "spare", "slack")
# riskmap_models: the buffers an LP is written to (its sizes follow)
_MODELS = ("touched", "shown", "col_lower", "col_upper", "col_cost",
           "row_lower", "row_upper", "indptr", "indices", "entries")
_KINDS = {"row_ptr": np.int32, "row_idx": np.int32, "col_ptr": np.int32, "col_idx": np.int32,
          "width": np.int32, "atoms": np.float64, "values": np.float64, "lower": np.float64,
          "upper": np.float64, "shown": np.uint8, "signature": np.int32, "group_ptr": np.int64,
          "group_atoms": np.int32, "donor_ptr": np.int64, "donor_atoms": np.int32}


class _SwapState(ctypes.Structure):
    """``riskmap_swaps`` of ``suppression.c``."""

    _fields_ = [("n_cells", ctypes.c_int64), ("n_atoms", ctypes.c_int64),
                ("tries", ctypes.c_int32), ("wide", ctypes.c_int32),
                *((name, _P) for name in _SWAPS),
                ("call", ctypes.c_uint32), ("search", ctypes.c_uint32)]


class _LPState(ctypes.Structure):
    """``riskmap_lp`` of ``suppression.c``."""

    _fields_ = [("n_cells", ctypes.c_int64), ("n_atoms", ctypes.c_int64),
                ("wide", ctypes.c_int32), ("min_count", ctypes.c_double),
                *((name, _P) for name in _LP), ("stamp", ctypes.c_uint32)]


class _ModelState(ctypes.Structure):
    """``riskmap_models`` of ``suppression.c``."""

    _fields_ = [*((name, _P) for name in _MODELS),
                *((name, ctypes.c_int64) for name in ("n_r", "n_t", "nnz"))]


@cache
def _library() -> ctypes.CDLL | None:
    """The helper with its functions' types, or ``None`` where it is not built or is of another
    version than this module."""
    library = c_library(LIBRARY, ["riskmap_suppression_version", "riskmap_swaps_protects",
                                  "riskmap_lp_near", "riskmap_lp_models"],
                        "de onderdrukking rekent in Python")
    if library is None:
        return None
    version = library.riskmap_suppression_version()
    if version != VERSION:
        log.warning("%s: versie %s, verwacht %s (bouw opnieuw met make); de onderdrukking "
                    "rekent in Python", LIBRARY, version, VERSION)
        return None
    protects, near, models = (library.riskmap_swaps_protects, library.riskmap_lp_near,
                              library.riskmap_lp_models)
    protects.restype, protects.argtypes = ctypes.c_int, [_P, ctypes.c_int32, ctypes.c_double]
    near.restype, near.argtypes = ctypes.c_int64, [_P, _P, ctypes.c_int64, _P, _P, _P, _P]
    models.restype = ctypes.c_int
    models.argtypes = [_P, _P, ctypes.c_int64, _P, ctypes.c_int32, ctypes.c_double, ctypes.c_int,
                       _P, _P, _P]
    return library


def _typed(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays as the helper reads them: the same ones where of its type already (the
    matrix's), else copies."""
    return {name: np.ascontiguousarray(array, dtype=_KINDS[name])
            for name, array in arrays.items()}


def swap_test(rows: tuple[np.ndarray, np.ndarray], columns: tuple[np.ndarray, np.ndarray],
              atoms: np.ndarray, values: np.ndarray, bounds: tuple[np.ndarray, np.ndarray],
              shown: np.ndarray, signature: np.ndarray,
              groups: tuple[np.ndarray, np.ndarray], donors: tuple[np.ndarray, np.ndarray],
              tries: int, wide: int) -> SwapTest | None:
    """The swap test over these arrays, or ``None`` where the helper is not there.

    ``rows`` and ``columns`` are the (indptr, indices) of the cells × atoms matrix in
    compressed-row and -column form (indices ascending); ``bounds`` what the attacker knows of
    each cell; ``groups`` and ``donors`` the (bounds, atoms) of each signature's atoms and of
    those with events, ascending.
    """
    library = _library()
    if library is None:
        return None
    n_cells, n_atoms = len(values), len(atoms)
    widest = int(np.diff(columns[0]).max()) if n_atoms else 0
    kept = _typed({
        "row_ptr": rows[0], "row_idx": rows[1], "col_ptr": columns[0], "col_idx": columns[1],
        "width": np.diff(rows[0]), "atoms": atoms, "values": values, "lower": bounds[0],
        "upper": bounds[1], "shown": shown, "signature": signature,
        "group_ptr": groups[0], "group_atoms": groups[1], "donor_ptr": donors[0],
        "donor_atoms": donors[1]})
    kept |= {"inside": np.zeros(n_atoms, np.uint32), "seen": np.zeros(n_atoms, np.uint32),
             "taken_at": np.zeros(n_atoms, np.uint32), "total_at": np.zeros(n_cells, np.uint32),
             "taken": np.zeros(n_atoms), "total": np.zeros(n_cells),
             "narrow": np.zeros(max(widest, 1), np.int32),
             "cells": np.zeros(max(2 * widest, 1), np.int32),
             "deltas": np.zeros(max(2 * widest, 1))}
    state = _SwapState(n_cells, n_atoms, tries, wide,
                       *(kept[name].ctypes.data for name in _SWAPS), 0, 0)
    return SwapTest(library.riskmap_swaps_protects, kept, state)


class SwapTest:
    """The helper's swap test, as a function of (cell, target), over arrays it keeps alive."""

    def __init__(self, function: Callable[..., int], kept: dict[str, np.ndarray],
                 state: _SwapState) -> None:
        self.function, self.kept, self.state = function, kept, state
        self.address = ctypes.addressof(state)

    def __call__(self, cell: int, target: float) -> bool:
        return bool(self.function(self.address, cell, target))


def neighbourhoods(rows: tuple[np.ndarray, np.ndarray], columns: tuple[np.ndarray, np.ndarray],
                   atoms: np.ndarray, values: np.ndarray, bounds: tuple[np.ndarray, np.ndarray],
                   cost: np.ndarray, min_count: int, wide: int) -> Neighbourhoods | None:
    """The neighbourhoods of the LPs and the LPs themselves over these arrays (see
    :func:`swap_test`; ``cost``: of hiding each cell), or ``None`` where the helper is not
    there."""
    library = _library()
    if library is None:
        return None
    n_cells, n_atoms, n_entries = len(values), len(columns[0]) - 1, len(columns[1])
    kept = _typed({"row_ptr": rows[0], "row_idx": rows[1], "col_ptr": columns[0],
                   "col_idx": columns[1], "width": np.diff(rows[0]), "values": values,
                   "lower": bounds[0], "upper": bounds[1], "atoms": atoms})
    kept["cost"] = np.ascontiguousarray(cost, dtype=np.float64)
    # scratch, and what the calls write: at most every cell, atom or entry (the pages of these
    # that no call writes to cost no memory)
    kept |= {"cell_mark": np.zeros(n_cells, np.uint32), "atom_mark": np.zeros(n_atoms, np.uint32),
             "slot": np.zeros(n_cells, np.int32), "slack": np.zeros(n_cells, np.int32),
             "spare": np.empty(max(n_cells, n_atoms, 1), np.int32),
             "cells": np.empty(n_cells, np.int32), "near": np.empty(n_atoms, np.int32)}
    columns_most, entries_most = n_atoms + 2 * n_cells, n_entries + 2 * n_cells
    model: dict[str, np.ndarray] = {
        "touched": np.empty(n_cells, np.int32), "shown": np.empty(n_cells, np.uint8),
        "col_lower": np.empty(columns_most), "col_upper": np.empty(columns_most),
        "col_cost": np.empty(columns_most), "row_lower": np.empty(n_cells),
        "row_upper": np.empty(n_cells), "indptr": np.empty(columns_most + 1, np.int32),
        "indices": np.empty(entries_most, np.int32), "entries": np.empty(entries_most)}
    kept |= {f"model.{name}": array for name, array in model.items()}
    state = _LPState(n_cells, n_atoms, wide, float(min_count),
                     *(kept[name].ctypes.data for name in _LP), 0)
    models = _ModelState(*(model[name].ctypes.data for name in _MODELS), 0, 0, 0)
    return Neighbourhoods(library, kept, state, model, models)


class Model(NamedTuple):
    """The LP of :meth:`~.protection._Neighbourhood.reach`: the cells touched (its rows), which
    are shown, and its arrays (:data:`riskmap.indicators.lp_solvers.Arrays`: HiGHS's
    ``passModel`` arguments after the objective's sense and offset)."""

    touched: np.ndarray
    shown: np.ndarray
    arrays: tuple[np.ndarray, ...]


class Neighbourhoods:
    """The helper's :meth:`near` and :meth:`lp`, over arrays it keeps alive."""

    def __init__(self, library: ctypes.CDLL, kept: dict[str, np.ndarray], state: _LPState,
                 model: dict[str, np.ndarray], models: _ModelState) -> None:
        self._near, self._models = library.riskmap_lp_near, library.riskmap_lp_models
        self.kept, self.state, self.model, self.models = kept, state, model, models
        self.address, self.models_address = ctypes.addressof(state), ctypes.addressof(models)
        self._count = ctypes.c_int64()
        self._count_address = ctypes.addressof(self._count)
        self._continuous = np.zeros(len(model["col_cost"]), np.int32)  # integrality: none

    def near(self, atoms: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cells ``atoms`` touch, and the atoms of the neighbourhood (ascending)."""
        atoms = np.ascontiguousarray(atoms, dtype=np.int32)
        cells, out = self.kept["cells"], self.kept["near"]
        n = self._near(self.address, atoms.ctypes.data, len(atoms), hidden.ctypes.data,
                       cells.ctypes.data, self._count_address, out.ctypes.data)
        return cells[:self._count.value].copy(), out[:n].copy()

    def lp(self, cell: int, target: float, hidden: np.ndarray, chosen: np.ndarray,
           relaxed: bool) -> Model:
        """The LP of ``reach`` (see there); its arrays hold until the next call."""
        chosen = np.ascontiguousarray(chosen, dtype=np.int32)
        status = self._models(self.address, chosen.ctypes.data, len(chosen), hidden.ctypes.data,
                              cell, target, int(relaxed), self.kept["atoms"].ctypes.data,
                              self.kept["cost"].ctypes.data, self.models_address)
        if status != 0:
            raise ValueError(f"cel {cell} ligt niet bij de gekozen atomen")
        m, got = self.model, self.models
        n_col, n_row = len(chosen) + 2 * got.n_t, got.n_r
        return Model(m["touched"][:got.n_r].copy(), m["shown"][:got.n_r].view(bool), (
            m["col_cost"][:n_col], m["col_lower"][:n_col], m["col_upper"][:n_col],
            m["row_lower"][:n_row], m["row_upper"][:n_row], m["indptr"][:n_col + 1],
            m["indices"][:got.nnz], m["entries"][:got.nnz], self._continuous[:n_col]))
