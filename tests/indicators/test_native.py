"""The suppression's inner loops in C (``suppression.c``) answer as the Python does, or are not
used."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from c_helpers import assert_refused
from releases import linked_tables
from scipy import sparse

from riskmap.indicators import _native, protection
from riskmap.indicators.protection import complementary_suppression


@pytest.fixture
def built() -> None:
    if _native._library() is None:
        pytest.skip("the C helper is not built here (scripts/build-native)")


def test_the_helper_is_built_where_a_compiler_is():
    if shutil.which("cc") is None:
        pytest.skip("no C compiler here")
    assert _native.LIBRARY.exists(), "make builds it: scripts/build-native"
    assert _native._library() is not None


@pytest.mark.parametrize(("seed", "events", "buurten", "share", "wide", "tries"), [
    (3, 700, 60, 0.6, 400, 32),  # the suppression's tests' release
    (4, 2000, 120, 0.9, 10, 32),  # partners from the signature's group only; groups of 1,000
    (6, 1500, 300, 0.6, 400, 32),  # many small counts
    (7, 6000, 60, 0.9, 400, 32),  # large counts
    (6, 1500, 300, 0.6, 400, 1),  # the tries run out: which partner comes first matters
    (3, 700, 60, 0.9, 400, 2),
    (7, 400, 100, 0.6, 400, 1),  # hidden cells of equal width: the narrow cells' order
])
def test_the_helper_answers_as_the_python(built, monkeypatch, seed, events, buurten, share,
                                          wide, tries):
    """Every hidden cell, to either end (``share``: of the other cells, hidden as complements
    or for another reason; the more are hidden, the larger the groups of partners)."""
    monkeypatch.setattr(protection, "WIDE", wide)
    monkeypatch.setattr(protection, "TRIES", tries)
    matrix, atoms = linked_tables(seed, events, buurten)
    values = np.asarray(matrix @ atoms)
    rng = np.random.default_rng(seed)
    released = rng.random(len(values)) > 0.05  # some cells no output shows
    hidden = (values < 5) | ~released | (rng.random(len(values)) < share)
    args = (matrix, matrix.tocsc(), atoms, values, ~hidden, released, 5)
    python, native = protection._Swaps(*args, native=False), protection._Swaps(*args)
    assert python.native is None and native.native is not None
    pairs = [(cell, target) for cell in np.flatnonzero(hidden).tolist()
             for target in (0.0, 4.0) if values[cell] != target]
    answers = [python.protects(cell, target) for cell, target in pairs]
    assert [native.protects(cell, target) for cell, target in pairs] == answers
    assert 0.05 < np.mean(answers) < 0.95  # both answers, often


@pytest.mark.parametrize(("seed", "events", "buurten", "share", "wide"), [
    (3, 700, 60, 0.6, 400),
    (4, 2000, 120, 0.9, 100),  # wide cells left out, unless hidden near an end
    (6, 1500, 300, 0.3, 30),
    (3, 700, 60, 0.6, 4),  # small counts many times wider than that
])
def test_the_helper_builds_the_lps_as_numpy_does(built, monkeypatch, seed, events, buurten,
                                                  share, wide):
    """The atoms near each small count (and one step further), the cells they touch, and the
    LPs over them, also relaxed: the same arrays, in the same order.
    Atoms without events (as of other quarters) make wide cells with small values."""
    monkeypatch.setattr(protection, "WIDE", wide)
    matrix, atoms = linked_tables(seed, events, buurten)
    empty = np.random.default_rng(seed).choice(matrix.shape[1], 3 * matrix.shape[1])
    matrix = sparse.hstack([matrix, matrix[:, empty]]).tocsr()
    atoms = np.concatenate([atoms, np.zeros(len(empty))])
    values = np.asarray(matrix @ atoms)
    rng = np.random.default_rng(seed)
    released = rng.random(len(values)) > 0.05
    hidden = (values < 5) | ~released | (rng.random(len(values)) < share)
    args = (matrix, matrix.tocsc(), atoms, values, released, np.ones(len(values)), 5)
    python, native = protection._Neighbourhood(*args, native=False), \
        protection._Neighbourhood(*args)
    assert python.native is None and native.native is not None
    python.read, native.read = [], []
    sizes = []
    for cell in np.flatnonzero(values < 5).tolist():
        near = python.near(python.own(cell), hidden)
        assert native.near(native.own(cell), hidden).tolist() == near.tolist()
        wider = python.near(near, hidden)
        assert native.near(near, hidden).tolist() == wider.tolist()
        sizes += [len(near), len(wider)]
        for chosen, target, relaxed in ((near, 0.0, False), (wider, 4.0, False),
                                        (near, 4.0, True)):
            mine = native.native.lp(cell, target, hidden, chosen, relaxed)
            theirs = python._lp(cell, target, hidden, chosen, relaxed)
            for a, b in zip([mine.touched, mine.shown, *mine.arrays],
                            [theirs.touched, theirs.shown, *theirs.arrays], strict=True):
                assert a.dtype == b.dtype and np.array_equal(a, b)
    assert [cells.tolist() for cells in native.read] == [cells.tolist() for cells in python.read]
    assert max(sizes) > 64  # the radix sort, not only the insertion sort


def _suppressed(seed: int) -> list[bool]:
    matrix, atoms = linked_tables(seed)
    values = matrix @ atoms
    return complementary_suppression(matrix, atoms, values < 5, np.ones(len(values), bool),
                                     np.ones(len(values)), 5, processes=1).tolist()


def test_without_the_helper_the_same_complements_are_hidden(built, monkeypatch):
    with_helper = [_suppressed(seed) for seed in (3, 6)]
    monkeypatch.setattr(_native, "LIBRARY", Path("/nonexistent/libsuppression.so"))
    _native._library.cache_clear()
    try:
        assert _native._library() is None
        assert [_suppressed(seed) for seed in (3, 6)] == with_helper
    finally:
        _native._library.cache_clear()
    assert any(any(hidden) for hidden in with_helper)


def test_a_helper_of_another_version_is_not_used(monkeypatch, caplog):
    class Old:
        riskmap_suppression_version = staticmethod(lambda: _native.VERSION - 1)
        riskmap_swaps_protects = riskmap_lp_near = riskmap_lp_models = staticmethod(
            lambda *args: 1)

    assert_refused(monkeypatch, caplog, _native, _native._library, Old(),
                   "bouw opnieuw met make")
