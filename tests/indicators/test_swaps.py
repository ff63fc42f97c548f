"""The suppression's swap test in C (``swaps.c``) answers as the Python does, or is not used."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from releases import linked_tables

from riskmap.indicators import _swaps, protection
from riskmap.indicators.protection import complementary_suppression


@pytest.fixture
def built() -> None:
    if _swaps._protects() is None:
        pytest.skip("the C helper is not built here (scripts/build-native)")


def test_the_helper_is_built_where_a_compiler_is():
    if shutil.which("cc") is None:
        pytest.skip("no C compiler here")
    assert _swaps.LIBRARY.exists(), "make builds it: scripts/build-native"
    assert _swaps._protects() is not None


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


def _suppressed(seed: int) -> list[bool]:
    matrix, atoms = linked_tables(seed)
    values = matrix @ atoms
    return complementary_suppression(matrix, atoms, values < 5, np.ones(len(values), bool),
                                     np.ones(len(values)), 5, processes=1).tolist()


def test_without_the_helper_the_same_complements_are_hidden(built, monkeypatch):
    with_helper = [_suppressed(seed) for seed in (3, 6)]
    monkeypatch.setattr(_swaps, "LIBRARY", Path("/nonexistent/libswaps.so"))
    _swaps._protects.cache_clear()
    try:
        assert _swaps._protects() is None
        assert [_suppressed(seed) for seed in (3, 6)] == with_helper
    finally:
        _swaps._protects.cache_clear()
    assert any(any(hidden) for hidden in with_helper)


def test_a_helper_of_another_version_is_not_used(monkeypatch, caplog):
    class Old:
        riskmap_swaps_version = staticmethod(lambda: _swaps.VERSION - 1)
        riskmap_swaps_protects = staticmethod(lambda *args: 1)

    monkeypatch.setattr(_swaps, "LIBRARY", Path(__file__))  # exists
    monkeypatch.setattr(_swaps.ctypes, "CDLL", lambda path: Old())
    _swaps._protects.cache_clear()
    try:
        with caplog.at_level(logging.WARNING):
            assert _swaps._protects() is None
        assert "bouw opnieuw met make" in caplog.text
    finally:
        _swaps._protects.cache_clear()
