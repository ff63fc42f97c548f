"""The LP solver of the complementary suppression: COIN-OR Clp where it is installed, else HiGHS.

The suppression (:mod:`riskmap.indicators.protection`) solves some 40,000 small LPs on the
national release (about 700 columns, 190 rows and 30 dual simplex iterations each). Clp's dual
simplex solves them in half HiGHS's time: HiGHS checks every model twice, the optimum's KKT
conditions, and the machine's cores on every run, which costs more than its iterations on LPs
this small. Clp comes with the ``cylp`` package (COIN-OR, EPL-2.0), whose wheels carry the
library; riskmap calls its C interface (``Clp_C_Interface.h``) through ctypes and never imports
cylp's Python modules. Where the library cannot be found or fails its known answer, the LPs go to
HiGHS (``highspy``), as before. Both give an optimum of the same LP; where it has more than one,
they may pick other complements, each of them protecting every small count.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import math
import os
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np

if TYPE_CHECKING:  # HiGHS is imported only where it solves (where Clp is not there)
    import highspy

log = logging.getLogger(__name__)

INF = math.inf  # as highspy.kHighsInf

# Model: cost, column bounds, row bounds, and the matrix column by column (start, row, value),
# as :class:`~.protection._Neighbourhood` builds it (the last array, every column continuous,
# only HiGHS reads)
Arrays = tuple[np.ndarray, ...]


class Solution(NamedTuple):
    """An optimum: the columns' values, the rows' activities and the objective."""

    columns: np.ndarray
    rows: np.ndarray
    objective: float


class Solver(Protocol):
    """Solves one LP at a time (minimising); ``None`` where it has no optimum."""

    name: str

    def solve(self, arrays: Arrays) -> Solution | None:
        """The optimum of the LP given by ``arrays``."""


def quiet_highs() -> highspy.Highs:
    """A HiGHS solver that prints nothing (it writes a banner to standard output when made)."""
    import highspy  # noqa: PLC0415 - see the imports

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
    # one thread: HiGHS then starts no worker threads, so a process forked to screen small
    # counts copies no solver thread it cannot use
    highs.setOptionValue("threads", 1)
    return highs


class HighsSolver:
    """HiGHS's dual simplex, without presolve or scaling (the rows and columns are 0/1
    already: scaling them gains nothing and costs a seventh of the time)."""

    name = "HiGHS"

    def __init__(self) -> None:
        import highspy  # noqa: PLC0415 - see the imports

        self.highspy, self.highs = highspy, quiet_highs()
        for option, value in (("presolve", "off"), ("solver", "simplex"),
                              ("simplex_scale_strategy", 0)):
            self.highs.setOptionValue(option, value)

    def solve(self, arrays: Arrays) -> Solution | None:
        """The optimum of the LP given by ``arrays``."""
        cost, row_lower, entries = arrays[0], arrays[3], arrays[7]
        highspy = self.highspy
        self.highs.clearModel()
        # the arrays go to HiGHS as buffers (a HighsLp would copy them value by value)
        self.highs.passModel(len(cost), len(row_lower), len(entries),
                             int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize),
                             0.0, *arrays)
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = self.highs.getSolution()
        return Solution(np.asarray(solution.col_value), np.asarray(solution.row_value),
                        self.highs.getInfo().objective_function_value)


_P = ctypes.c_void_p
_DOUBLES = ctypes.POINTER(ctypes.c_double)
# Clp_C_Interface.h: name, result, arguments
_CLP = (("Clp_newModel", _P, ()), ("Clp_deleteModel", None, (_P,)),
        ("Clp_setLogLevel", None, (_P, ctypes.c_int)),
        ("Clp_loadProblem", None, (_P, ctypes.c_int, ctypes.c_int) + (_P,) * 8),
        ("Clp_dual", ctypes.c_int, (_P, ctypes.c_int)),
        ("Clp_status", ctypes.c_int, (_P,)), ("Clp_secondaryStatus", ctypes.c_int, (_P,)),
        ("Clp_getColSolution", _DOUBLES, (_P,)), ("Clp_getRowActivity", _DOUBLES, (_P,)),
        ("Clp_getObjValue", ctypes.c_double, (_P,)),
        ("Clp_VersionMajor", ctypes.c_int, ()), ("Clp_VersionMinor", ctypes.c_int, ()))


def clp_library_path() -> Path | None:
    """Clp's shared library as the ``cylp`` wheel installs it (``cylp.libs`` beside the package
    on Linux, ``.dylibs`` inside it on macOS), without importing cylp. Windows wheels link Clp
    into cylp's extensions: there is none to load, and HiGHS solves."""
    spec = importlib.util.find_spec("cylp")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    for folder in (package.parent / "cylp.libs", package / ".dylibs", package):
        found = [path for path in sorted(folder.glob("libClp[-.]*"))
                 if path.suffix in {".so", ".dylib", ".dll"} or ".so." in path.name]
        if found:
            return found[0]
    return None


@cache
def _clp() -> ctypes.CDLL | None:
    """The Clp library with its functions declared, or ``None`` (with a warning where it is
    installed but will not load)."""
    path = clp_library_path()
    if path is None:
        return None
    try:
        library = ctypes.CDLL(str(path))
        for name, result, arguments in _CLP:
            function = getattr(library, name)
            function.restype, function.argtypes = result, list(arguments)
    except (OSError, AttributeError) as exc:
        log.warning("%s: niet te laden (%s); de onderdrukking rekent met HiGHS (trager)",
                    path, exc)
        return None
    return library


class ClpSolver:
    """Clp's dual simplex with its defaults (its scaling and perturbation help it here)."""

    name = "Clp"

    def __init__(self, library: ctypes.CDLL) -> None:
        self.library = library

    def solve(self, arrays: Arrays) -> Solution | None:
        """The optimum of the LP given by ``arrays`` (``None`` unless Clp says it is optimal
        with no infeasibility left once unscaled)."""
        cost, col_lower, col_upper, row_lower, row_upper, start, index, value = (
            np.ascontiguousarray(array, dtype=kind) for array, kind in zip(
                arrays[:8], (np.float64,) * 5 + (np.int32,) * 2 + (np.float64,), strict=True))
        n_col, n_row = len(cost), len(row_lower)
        lib = self.library
        # a new model per LP: one that solved LPs before carries state into the next (its
        # random numbers move on), and an LP's optimum must not depend on those before it
        model = lib.Clp_newModel()
        try:
            lib.Clp_setLogLevel(model, 0)
            lib.Clp_loadProblem(model, n_col, n_row, start.ctypes.data, index.ctypes.data,
                                value.ctypes.data, col_lower.ctypes.data, col_upper.ctypes.data,
                                cost.ctypes.data, row_lower.ctypes.data, row_upper.ctypes.data)
            lib.Clp_dual(model, 0)
            if lib.Clp_status(model) != 0 or lib.Clp_secondaryStatus(model) != 0:
                return None
            return Solution(
                np.ctypeslib.as_array(lib.Clp_getColSolution(model), (n_col,)).copy(),
                np.ctypeslib.as_array(lib.Clp_getRowActivity(model), (n_row,)).copy(),
                lib.Clp_getObjValue(model))
        finally:
            lib.Clp_deleteModel(model)


def _known_answer(solver: Solver) -> bool:
    """Whether ``solver`` finds the optimum of a small LP with an equality, a free row and
    unbounded columns: min x0 + 2 x1 with x0 + x1 = 3, x0 - x1 free, 0 <= x0 <= 2, x1 >= 0
    (x0 = 2, x1 = 1, objective 4), and no optimum where x0 + x1 = -1."""
    def model(total: float) -> Arrays:
        return (np.array([1.0, 2.0]), np.array([0.0, 0.0]), np.array([2.0, INF]),
                np.array([total, -INF]), np.array([total, INF]),
                np.array([0, 2, 4], dtype=np.int32), np.array([0, 1, 0, 1], dtype=np.int32),
                np.array([1.0, 1.0, 1.0, -1.0]), np.zeros(2, dtype=np.int32))
    found = solver.solve(model(3.0))
    return (found is not None and np.allclose(found.columns, [2.0, 1.0])
            and np.allclose(found.rows, [3.0, 1.0]) and abs(found.objective - 4.0) < 1e-9
            and solver.solve(model(-1.0)) is None)


@cache
def _trusted_clp() -> ctypes.CDLL | None:
    """The Clp library where it loads and gives the known answer (checked once per process;
    else ``None``, with a warning where it gave another answer)."""
    library = _clp()
    if library is None or _known_answer(ClpSolver(library)):
        return library
    log.warning("Clp %d.%d geeft een fout antwoord op een proef; de onderdrukking rekent met "
                "HiGHS (trager)", library.Clp_VersionMajor(), library.Clp_VersionMinor())
    return None


def lp_solver(prefer: str = "clp") -> Solver:
    """A solver for the suppression's LPs: Clp unless ``prefer`` is ``"highs"`` or Clp is not
    there or fails its known answer (then HiGHS)."""
    if prefer not in {"clp", "highs"}:
        raise ValueError(f"prefer must be one of {{'clp', 'highs'}}, not {prefer!r}")
    library = _trusted_clp() if prefer == "clp" else None
    return HighsSolver() if library is None else ClpSolver(library)
