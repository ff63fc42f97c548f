"""The C helper for pseudonyms gives Python's HMAC-SHA256, or is not used."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from c_helpers import assert_refused
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmap import _forked
from riskmap.sources import _hmac, _pseudo
from riskmap.sources._pseudo import Pseudonymiser

# text as loaders meet it: digits, letters, separators, Unicode spaces and controls
TEXT = st.text(st.sampled_from([*"09aZé€|-. ", "\t", "\n", "\x00", "\x1c", "\x85", "\xa0",
                                "\u2003", "\u3000", "\U0001f600"]), max_size=80)


@pytest.fixture
def helper() -> _hmac.Batch:
    helper = _hmac.batch()
    if helper is None:
        pytest.skip("the C helper is not built here (scripts/build-native)")
    return helper


def reference(key: bytes, domain: str, value: str | None) -> str | None:
    text = "" if value is None else value.strip()
    return hmac.new(key, f"{domain}:{text}".encode(), hashlib.sha256).hexdigest()[:16] \
        if text else None


def test_the_helper_is_built_where_a_compiler_and_openssl_are():
    if shutil.which("cc") is None or not Path("/usr/include/openssl/sha.h").exists():
        pytest.skip("no C compiler or OpenSSL headers here")
    assert _hmac.LIBRARY.exists(), "make builds it: scripts/build-native"
    assert _hmac.batch() is not None


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.none() | TEXT, max_size=40),
       key=st.binary(min_size=32, max_size=150), domain=st.sampled_from(["adres", "kvk", "é"]),
       chunk=st.integers(1, 9))
def test_the_helper_gives_python_s_digests(values, key, domain, chunk):
    if _hmac.batch() is None:
        pytest.skip("the C helper is not built here")
    series = pd.Series(values, index=range(7, 7 + len(values)), dtype="str")
    expected = [reference(key, domain, v) for v in values]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_pseudo, "BATCH_CHUNK", chunk)  # chunks are slices of the column
        made = Pseudonymiser(key).series(series, domain)
    assert [None if pd.isna(v) else v for v in made] == expected
    assert made.index.equals(series.index)


def test_the_helper_hashes_slices_and_long_keys(helper):
    texts = pa.array(["a", "1234AB|1||", "x" * 300, "é"], pa.large_string())
    for key in (b"k" * 32, b"k" * 64, b"k" * 65, b"k" * 200):
        for part in (texts, texts[1:], texts[2:3], texts[4:]):
            assert helper(key, b"kvk:", part, 16) == b"".join(
                hmac.new(key, b"kvk:" + t.encode(), hashlib.sha256).digest()[:16]
                for t in part.to_pylist())
    assert helper(b"k" * 32, b"", texts, 32)[:32] == hmac.new(b"k" * 32, b"a", "sha256").digest()
    with pytest.raises(RuntimeError):
        helper(b"k" * 32, b"", texts, 33)  # wider than a digest


def test_a_helper_that_disagrees_with_python_is_not_used(monkeypatch, caplog):
    class Wrong:
        riskmap_hmac_sha256_many = staticmethod(lambda *args: 0)  # leaves its output as it was

    assert_refused(monkeypatch, caplog, _hmac, _hmac.batch, Wrong(), "andere HMAC")


def test_without_the_helper_python_hashes_the_same(monkeypatch):
    values = pd.Series([" 1 ", "2", None, "", "\xa0 x"], dtype="str")
    with_helper = Pseudonymiser(b"k" * 32).series(values, "kvk")
    monkeypatch.setattr(_hmac, "LIBRARY", Path("/nonexistent/libhmac_many.so"))
    _hmac.batch.cache_clear()
    try:
        assert _hmac.batch() is None
        pd.testing.assert_series_equal(Pseudonymiser(b"k" * 32).series(values, "kvk"),
                                       with_helper)
    finally:
        _hmac.batch.cache_clear()


def test_values_made_for_the_thread_are_those_at_the_start(helper, monkeypatch):
    monkeypatch.setattr(_pseudo, "MEANWHILE_FROM", 0)
    names = pd.Series(["a", " b ", None, "c"], index=[3, 4, 5, 6], dtype="str")
    data = {"names": names}
    pseudo = Pseudonymiser(b"k" * 32)
    with pseudo.meanwhile([(lambda: data["names"], "handelsnaam"), (names, "kvk")],
                          names.index) as hashed:
        data["names"] = names.str.upper()  # a change after the start does not count
        assert not _forked.can_fork()  # no forking beside the hashing thread
        first, second = hashed.take(names.index), hashed.take(names.index[1:])
    pd.testing.assert_series_equal(first, pseudo.series(names, "handelsnaam"))
    pd.testing.assert_series_equal(second, pseudo.series(names.iloc[1:], "kvk"))


def test_a_failed_block_drops_the_thread_s_other_jobs(helper, monkeypatch):
    monkeypatch.setattr(_pseudo, "MEANWHILE_FROM", 0)
    started: list[str] = []
    between = Pseudonymiser._digests_between

    def counted(self, values, start, stop, domain):
        started.append(domain)
        return between(self, values, start, stop, domain)

    monkeypatch.setattr(Pseudonymiser, "_digests_between", counted)
    values = pd.Series(np.arange(1000).astype(str), dtype="str")
    forks = _forked.can_fork()
    jobs = [(values, f"job{i}") for i in range(50)]
    with pytest.raises(ValueError, match="bad row"), \
            Pseudonymiser(b"k" * 32).meanwhile(jobs, values.index):
        raise ValueError("bad row")
    assert len(started) < 50 and _forked.can_fork() == forks


def test_values_other_than_text_are_hashed_apart_not_in_the_thread(helper, monkeypatch):
    """Numbers in an object column are hashed in Python, which holds the lock: not in a
    thread beside the load (forked processes, where they can be)."""
    monkeypatch.setattr(_pseudo, "MEANWHILE_FROM", 0)
    monkeypatch.setattr(_pseudo, "threaded", lambda tasks: pytest.fail("hashed in a thread"))
    numbers = pd.Series([12, 345, None, 6789], index=[1, 2, 3, 4], dtype=object)
    pseudo = Pseudonymiser(b"k" * 32)
    with pseudo.meanwhile([(numbers, "kvk")], numbers.index) as hashed:
        made = hashed.take(numbers.index)
    assert [None if pd.isna(v) else v for v in made] == \
        [reference(b"k" * 32, "kvk", None if v is None else str(v)) for v in numbers]
