"""Plain decimal numbers of a text column in one pass of C (the helper ``plain_numbers.c``).

:func:`riskmap.sources._places.numbers` reads the coordinates of tens of millions of records;
most are plain numbers (:data:`~riskmap.sources._places.PLAIN_POINT`,
:data:`~riskmap.sources._places.PLAIN_COMMA`), which two regular expressions and Arrow's cast
found and read in ~1 s per column of ten million. The helper does both in one pass, with the
same doubles (the digits as an exact integer divided by an exact power of ten, which IEEE
division rounds correctly). ``make`` builds it (``scripts/build-native``); where it is not
built, or reads a few known texts otherwise than Python does, :func:`plain_numbers` gives
``None`` and riskmap uses the regular expressions.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from riskmap._clib import c_library

log = logging.getLogger(__name__)

LIBRARY = Path(__file__).with_name("libplain_numbers.so")
# known texts and what they are (None: not plain)
_KNOWN = {"155000": 155000.0, "-0.0": -0.0, "+463000,5": 463000.5, "52.0907374": 52.0907374,
          "123456789.123456": 123456789.123456, "123456.123456789": 123456.123456789,
          "1234567890": None, "1.5e3": None, " 1.5": None, "1.": None, ".5": None, "": None,
          "1234567.1234567": None, "1,5,0": None, "٣": None}


@cache
def _function() -> Callable[..., None] | None:
    """The helper's ``riskmap_plain_numbers``, or ``None`` where it is not built or does not
    read the known texts as Python does."""
    library = c_library(LIBRARY, ["riskmap_plain_numbers"], "getallen worden zonder hulpje gelezen")
    if library is None:
        return None
    function = library.riskmap_plain_numbers
    function.restype = None
    function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                         ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p]
    values, plain = _read(function, pa.array([*_KNOWN, None], pa.large_string()))
    expected = [*_KNOWN.values(), None]
    if not all(bool(p) == (e is not None) and (e is None or (v == e and np.signbit(v) ==
                                                               np.signbit(e)))
               for v, p, e in zip(values, plain, expected, strict=True)):
        log.warning("%s: leest getallen anders dan Python; getallen worden zonder hulpje gelezen",
                    LIBRARY)
        return None
    return function


def _read(function: Callable[..., None], texts: pa.LargeStringArray,
          ) -> tuple[np.ndarray, np.ndarray]:
    out, plain = np.zeros(len(texts)), np.zeros(len(texts), dtype=np.uint8)
    if len(texts):
        valid, offsets, data = texts.buffers()[:3]
        # the array may be a slice: its offsets (and validity bits) start at its own offset
        function(data.address if data is not None else None,
                 offsets.address + texts.offset * np.dtype(np.int64).itemsize,
                 valid.address if valid is not None else None, texts.offset, len(texts),
                 out.ctypes.data, plain.ctypes.data)
    return out, plain.view(bool)


def plain_numbers(texts: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Per text: its value, and whether it is plain (else its value is 0); ``None`` where the
    helper is not there."""
    function = _function()
    if function is None:
        return None
    if texts.type != pa.large_string():
        texts = texts.cast(pa.large_string())
    return _read(function, texts)
