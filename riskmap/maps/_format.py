"""Dutch number and date formatting shared by maps and reports."""

from __future__ import annotations

from datetime import date

import pandas as pd

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
          "september", "oktober", "november", "december")
MISSING = "–"


def number(value: object, decimals: int = 1) -> str:
    """A number with a decimal comma and a thousands dot; ``–`` when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return MISSING
    text = f"{float(value):,.{decimals}f}"  # type: ignore[arg-type]
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


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
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
