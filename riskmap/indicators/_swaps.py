"""The swap test of the complementary suppression in C (the helper ``swaps.c``).

:class:`riskmap.indicators.protection._Swaps` asks, for each small count and end of its
interval, whether moving events between two atoms with the same shown cells reaches it; the
national release asks ~230,000 times, at ~70 µs each in Python, nearly all of it the
interpreter's. The helper answers step for step as the Python does (the same partners, in the
same order, with the same tries), so the complements do not depend on which one ran (the tests
compare them). ``make`` builds it (``scripts/build-native``); where it is not built, or is of
another version, :func:`swap_test` is ``None`` and riskmap tests in Python.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

LIBRARY = Path(__file__).with_name("libswaps.so")
VERSION = 1  # RISKMAP_SWAPS_VERSION of swaps.c

_POINTERS = ("row_ptr", "row_idx", "col_ptr", "col_idx", "width", "atoms", "values", "lower",
             "upper", "shown", "signature", "group_ptr", "group_atoms", "donor_ptr",
             "donor_atoms", "inside", "seen", "taken_at", "total_at", "taken", "total", "narrow",
             "cells", "deltas")


class _State(ctypes.Structure):
    """``riskmap_swaps`` of ``swaps.c``: what the test reads and its scratch."""

    _fields_ = [("n_cells", ctypes.c_int64), ("n_atoms", ctypes.c_int64),
                ("tries", ctypes.c_int32), ("wide", ctypes.c_int32),
                *((name, ctypes.c_void_p) for name in _POINTERS),
                ("call", ctypes.c_uint32), ("search", ctypes.c_uint32)]


@cache
def _protects() -> Callable[..., int] | None:
    """The helper's ``riskmap_swaps_protects``, or ``None`` where it is not built or is of
    another version than this module."""
    if not LIBRARY.exists():
        return None
    try:
        library = ctypes.CDLL(str(LIBRARY))
        version = library.riskmap_swaps_version()
        function = library.riskmap_swaps_protects
    except (OSError, AttributeError) as exc:
        log.warning("%s: niet te laden (%s); de ruiltoets loopt in Python", LIBRARY, exc)
        return None
    if version != VERSION:
        log.warning("%s: versie %s, verwacht %s (bouw opnieuw met make); de ruiltoets loopt in "
                    "Python", LIBRARY, version, VERSION)
        return None
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_double]
    return function


def swap_test(rows: tuple[np.ndarray, np.ndarray], columns: tuple[np.ndarray, np.ndarray],
              atoms: np.ndarray, values: np.ndarray, bounds: tuple[np.ndarray, np.ndarray],
              shown: np.ndarray, signature: np.ndarray,
              groups: tuple[np.ndarray, np.ndarray], donors: tuple[np.ndarray, np.ndarray],
              tries: int, wide: int) -> Callable[[int, float], bool] | None:
    """The swap test over these arrays as a function of (cell, target), or ``None`` where the
    helper is not there.

    ``rows`` and ``columns`` are the (indptr, indices) of the cells × atoms matrix in
    compressed-row and -column form (indices ascending); ``bounds`` what the attacker knows of
    each cell; ``groups`` and ``donors`` the (bounds, atoms) of each signature's atoms and of
    those with events, ascending.
    """
    function = _protects()
    if function is None:
        return None
    n_cells, n_atoms = len(values), len(atoms)
    widest = int(np.diff(columns[0]).max()) if n_atoms else 0
    arrays = {
        "row_ptr": rows[0], "row_idx": rows[1], "col_ptr": columns[0], "col_idx": columns[1],
        "width": np.diff(rows[0]), "atoms": atoms, "values": values, "lower": bounds[0],
        "upper": bounds[1], "shown": shown, "signature": signature,
        "group_ptr": groups[0], "group_atoms": groups[1], "donor_ptr": donors[0],
        "donor_atoms": donors[1]}
    kinds = {"row_ptr": np.int32, "row_idx": np.int32, "col_ptr": np.int32,
             "col_idx": np.int32, "width": np.int32, "atoms": np.float64,
             "values": np.float64, "lower": np.float64, "upper": np.float64,
             "shown": np.uint8, "signature": np.int32, "group_ptr": np.int64,
             "group_atoms": np.int32, "donor_ptr": np.int64, "donor_atoms": np.int32}
    # the same arrays where they are of the helper's type already (the matrix's), else copies
    kept = {name: np.ascontiguousarray(array, dtype=kinds[name]) for name, array in arrays.items()}
    kept |= {"inside": np.zeros(n_atoms, np.uint32), "seen": np.zeros(n_atoms, np.uint32),
             "taken_at": np.zeros(n_atoms, np.uint32), "total_at": np.zeros(n_cells, np.uint32),
             "taken": np.zeros(n_atoms), "total": np.zeros(n_cells),
             "narrow": np.zeros(max(widest, 1), np.int32),
             "cells": np.zeros(max(2 * widest, 1), np.int32),
             "deltas": np.zeros(max(2 * widest, 1))}
    return _Native(function, kept, _State(n_cells, n_atoms, tries, wide,
                                          *(kept[name].ctypes.data for name in _POINTERS),
                                          0, 0))


class _Native:
    """The helper's test over arrays it keeps alive."""

    def __init__(self, function: Callable[..., int], kept: dict[str, np.ndarray],
                 state: _State) -> None:
        self.function, self.kept, self.state = function, kept, state
        self.address = ctypes.addressof(state)

    def __call__(self, cell: int, target: float) -> bool:
        return bool(self.function(self.address, cell, target))
