"""HMAC-SHA256 of many identifiers in one call to OpenSSL (the C helper ``hmac_many.c``).

A national load pseudonymises tens of millions of identifiers; hashed one by one in Python,
each costs ~0.8 µs, almost all of it the interpreter's work around OpenSSL. The helper hashes a
whole Arrow text array in one call (~0.14 µs per identifier) with the same HMAC. ``make``
builds it (``scripts/build-native``); where it is not built, or does not give the digests
:mod:`hmac` gives for a few known values, :func:`batch` is ``None`` and riskmap hashes in Python.
"""

from __future__ import annotations

import ctypes
import hashlib
import hmac
import logging
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa

from riskmap._clib import c_library

log = logging.getLogger(__name__)

LIBRARY = Path(__file__).with_name("libhmac_many.so")
_KNOWN = ["", "1234AB|1||", "0363200000000001", "Café de Zwaan B.V.", "x" * 200]


class Batch(Protocol):
    """The helper's call: ``(key, prefix, texts, width)`` to the digests, one after another."""

    def __call__(self, key: bytes, prefix: bytes, texts: pa.LargeStringArray,
                 width: int) -> bytes: ...


@cache
def batch() -> Batch | None:
    """The helper as a function of key, prefix, texts and width that gives the first ``width``
    bytes of ``HMAC-SHA256(key, prefix + text)`` of each text, one after the other; ``None``
    where it is not built or does not agree with :mod:`hmac`."""
    library = c_library(LIBRARY, ["riskmap_hmac_sha256_many"],
                        "pseudoniemen worden in Python gemaakt")
    if library is None:
        return None
    function = library.riskmap_hmac_sha256_many
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
                         ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                         ctypes.c_int]

    def hashed(key: bytes, prefix: bytes, texts: pa.LargeStringArray, width: int) -> bytes:
        if texts.null_count:
            raise ValueError("texts must not be missing")
        out = np.empty(len(texts) * width, dtype=np.uint8)
        if not len(texts):
            return out.tobytes()
        offsets, data = texts.buffers()[1:3]
        # the array may be a slice: its offsets start at its own offset
        start = offsets.address + texts.offset * np.dtype(np.int64).itemsize
        status = function(key, len(key), prefix, len(prefix),
                          data.address if data is not None else None, start, len(texts),
                          out.ctypes.data, width)
        if status != 0:
            raise RuntimeError(f"{LIBRARY.name}: OpenSSL gaf een fout")
        return out.tobytes()

    key = b"riskmap known-answer test key, not a project key"
    texts = pa.array(_KNOWN, pa.large_string())
    expected = b"".join(hmac.new(key, b"adres:" + t.encode(), hashlib.sha256).digest()[:16]
                        for t in _KNOWN)
    try:
        agrees = hashed(key, b"adres:", texts, 16) == expected \
            and hashed(key * 2, b"", texts[1:3], 32) == b"".join(
                hmac.new(key * 2, t.encode(), hashlib.sha256).digest() for t in _KNOWN[1:3])
    except (RuntimeError, ValueError):
        agrees = False
    if not agrees:
        log.warning("%s: geeft andere HMAC's dan Python; pseudoniemen worden in Python gemaakt",
                    LIBRARY)
        return None
    return hashed
