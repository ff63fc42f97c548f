"""The suppression's LP solvers: Clp through its C interface, and HiGHS where Clp is not there."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from releases import linked_tables

from riskmap.indicators import lp_solvers, protection
from riskmap.indicators.lp_solvers import ClpSolver, HighsSolver, Solution, lp_solver


def _suppression_lps(seed: int, count: int) -> list[tuple[np.ndarray, ...]]:
    """LPs as the suppression builds them, for the first small counts of a linked release."""
    matrix, atoms = linked_tables(seed)
    values = np.asarray(matrix @ atoms)
    hidden = values < 5
    lp = protection._Neighbourhood(matrix.tocsr(), matrix.tocsc(), atoms, values,
                                   np.ones(len(values), bool), np.ones(len(values)), 5)
    models = []
    for cell in np.flatnonzero(hidden)[:count].tolist():
        chosen = lp.near(lp.own(cell), hidden)
        for target in lp.targets:
            # copies: the helper writes each LP into the same buffers
            models.append(tuple(np.array(a) for a in lp.model(cell, target, hidden,
                                                              chosen).arrays))
    return models


def test_clp_is_found_in_the_cylp_wheel_and_chosen():
    assert lp_solvers.clp_library_path() is not None
    assert lp_solver().name == "Clp"
    assert lp_solver("highs").name == "HiGHS"


def test_an_unknown_solver_is_a_value_error():
    with pytest.raises(ValueError, match="prefer must be one of"):
        lp_solver("glpk")


@pytest.fixture
def unchecked():
    """Clp checked again by the test (and once more by the tests after it)."""
    lp_solvers._trusted_clp.cache_clear()
    yield
    lp_solvers._trusted_clp.cache_clear()


def test_without_clp_the_lps_go_to_highs(monkeypatch, caplog, unchecked):
    monkeypatch.setattr(lp_solvers, "_clp", lambda: None)
    with caplog.at_level(logging.WARNING):
        assert lp_solver().name == "HiGHS"
    assert not caplog.records  # cylp is not there: nothing to warn about


def test_a_clp_that_fails_its_known_answer_is_not_used_and_said_once(monkeypatch, caplog,
                                                                     unchecked):
    wrong = Solution(np.array([0.0, 3.0]), np.array([3.0, -3.0]), 6.0)
    monkeypatch.setattr(ClpSolver, "solve", lambda self, arrays: wrong)
    with caplog.at_level(logging.WARNING):
        assert lp_solver().name == "HiGHS" and lp_solver().name == "HiGHS"
    assert len(caplog.records) == 1
    assert "fout antwoord op een proef" in caplog.text and "HiGHS" in caplog.text


def test_both_find_the_same_optimum_or_none():
    """The same objective (the optimum may have other vertices), a table within every bound,
    and the same LPs without one."""
    clp, highs = lp_solver(), HighsSolver()
    optimal = infeasible = 0
    for arrays in _suppression_lps(2, 40):
        one, other = clp.solve(arrays), highs.solve(arrays)
        assert (one is None) == (other is None)
        if one is None or other is None:
            infeasible += 1
            continue
        optimal += 1
        assert one.objective == pytest.approx(other.objective, abs=1e-7)
        cost, col_lower, col_upper, row_lower, row_upper, start, index, value = arrays[:8]
        assert (one.columns >= col_lower - 1e-7).all() and (one.columns <= col_upper + 1e-7).all()
        assert (one.rows >= row_lower - 1e-7).all() and (one.rows <= row_upper + 1e-7).all()
        activity = np.zeros(len(row_lower))
        np.add.at(activity, index, value * np.repeat(one.columns, np.diff(start)))
        np.testing.assert_allclose(one.rows, activity, atol=1e-9)
        assert float(cost @ one.columns) == pytest.approx(one.objective)
    assert optimal > 20 and infeasible > 0


def test_clps_optimum_does_not_depend_on_the_lps_before():
    """An LP gives the same table whatever was solved before it (a process that screens other
    small counts first must hide the same complements)."""
    models = _suppression_lps(5, 30)
    alone = [ClpSolver(lp_solvers._clp()).solve(arrays) for arrays in models]
    solver = ClpSolver(lp_solvers._clp())
    for arrays, expected in zip(reversed(models), reversed(alone), strict=True):
        found = solver.solve(arrays)
        assert (found is None) == (expected is None)
        if found is not None and expected is not None:
            assert found.columns.tolist() == expected.columns.tolist()


@pytest.mark.parametrize(("files", "expected"), [
    # Linux wheels (auditwheel): beside the package, with a hash in the name
    (["cylp.libs/libClpSolver-8f02a01a.so.1.14.11", "cylp.libs/libClp-d417d148.so.1.14.11",
      "cylp.libs/libCoinUtils-e5ef0b77.so.3.11.13"], "cylp.libs/libClp-d417d148.so.1.14.11"),
    # macOS wheels (delocate): inside the package
    (["cylp/.dylibs/libClpSolver.1.14.11.dylib", "cylp/.dylibs/libClp.1.14.11.dylib"],
     "cylp/.dylibs/libClp.1.14.11.dylib"),
    # Windows wheels link Clp into cylp's extensions: no library to load, so HiGHS
    (["cylp/cy/CyClpSimplex.cp311-win_amd64.pyd"], None),
])
def test_clps_library_is_found_where_each_wheel_puts_it(tmp_path, monkeypatch, files, expected):
    import importlib.machinery
    import importlib.util

    (tmp_path / "cylp").mkdir()
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    spec = importlib.machinery.ModuleSpec("cylp", None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path / "cylp")]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    found = lp_solvers.clp_library_path()
    assert found == (None if expected is None else tmp_path / expected)
