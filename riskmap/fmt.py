"""Dutch formatting of numbers, percentages and dates: the one place every output uses.

Console lines, CSV, XLSX, HTML, PDF and the dashboard all write ``1.234,5``, ``12,5%`` and
``30 september 2025`` through these functions (Babel's ``nl_NL`` locale data), so a figure reads
the same everywhere.
"""

from __future__ import annotations

import math
from datetime import date
from functools import cache, lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, parse_pattern

LOCALE = Locale.parse("nl_NL")
MISSING = "–"


@cache
def _pattern(decimals: int) -> NumberPattern:
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals > 0 else ""))


def _missing(value: object) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    import pandas as pd  # noqa: PLC0415 - not at import: the command line's help needs no pandas

    return value is pd.NA


def number(value: object, decimals: int = 1) -> str:
    """A number with a decimal comma and a thousands dot (``1.234,5``); ``–`` when missing."""
    if _missing(value):
        return MISSING
    figure, places = float(value), max(decimals, 0)  # type: ignore[arg-type]
    if figure == 0.0:  # -0.0 == 0.0 would share one remembered text, but Babel writes "-0"
        return _pattern(places).apply(figure, LOCALE)
    return _formatted(figure, places)


@lru_cache(maxsize=2**16)
def _formatted(value: float, decimals: int) -> str:
    """Babel's pattern applied, once per value: the same shares and counts recur (a national
    build writes a coverage note for every buurt and theme, 12 µs each through Babel)."""
    return _pattern(decimals).apply(value, LOCALE)


def integer(value: object) -> str:
    """A whole number with a thousands dot (``8.173``); ``–`` when missing."""
    return number(value, 0)


def percent(value: object, decimals: int = 0) -> str:
    """A fraction (0.125) as a Dutch percentage (``12,5%`` with ``decimals=1``)."""
    if _missing(value):
        return MISSING
    return number(100 * float(value), decimals) + "%"  # type: ignore[arg-type]


def signed(value: object, decimals: int = 1) -> str:
    """A change with its sign (``+2,3``, ``−1,0``, ``0,0``); ``–`` when missing."""
    text = number(value, decimals)
    if text == MISSING:
        return text
    if text.startswith("-"):
        return "−" + text[1:]
    return text if text.strip("0,.") == "" else "+" + text


def long_date(day: date) -> str:
    """A date written out in Dutch: ``30 september 2025``."""
    return format_date(day, format="d MMMM y", locale=LOCALE)


def short_date(day: date) -> str:
    """A date as ``30-09-2025``."""
    return format_date(day, format="dd-MM-y", locale=LOCALE)
