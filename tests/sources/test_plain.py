"""The C helper for plain numbers reads them as the regular expressions and Arrow do, or is not
used."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from c_helpers import assert_refused
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmap.sources import _places, _plain

# plain and nearly plain numbers: a sign, digits, a separator, digits (up to eleven each)
TEXT = st.builds("".join, st.tuples(
    st.sampled_from(["", "+", "-", " ", "--"]), st.text("0123456789", max_size=11),
    st.sampled_from(["", ".", ",", ".,", "e"]), st.text("0123456789", max_size=11),
    st.sampled_from(["", "", " ", "\n", "x", "٣"])))


def without_helper(function, *args):
    """``function(*args)`` with the helper not found."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_plain, "LIBRARY", Path("/nonexistent/libplain_numbers.so"))
        _plain._function.cache_clear()
        try:
            assert _plain._function() is None
            return function(*args)
        finally:
            _plain._function.cache_clear()


def test_the_helper_is_built_where_a_compiler_is():
    if shutil.which("cc") is None:
        pytest.skip("no C compiler here")
    assert _plain.LIBRARY.exists(), "make builds it: scripts/build-native"
    assert _plain._function() is not None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.none() | TEXT, min_size=1, max_size=40), st.integers(0, 5))
def test_the_helper_reads_numbers_as_arrow_does(texts, start):
    if _plain._function() is None:
        pytest.skip("the C helper is not built here")
    values = pd.Series(texts, dtype="str").iloc[start:]  # also a slice of a column
    fast = _places.numbers(values).to_numpy(float)
    slow = without_helper(_places.numbers, values).to_numpy(float)
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(np.signbit(fast), np.signbit(slow))  # -0.0 stays -0.0


def test_a_helper_that_reads_otherwise_is_not_used(monkeypatch, caplog):
    class Wrong:
        riskmap_plain_numbers = staticmethod(lambda *args: None)  # finds nothing plain

    assert_refused(monkeypatch, caplog, _plain, _plain._function, Wrong(),
                   "leest getallen anders")
