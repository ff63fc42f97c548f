"""Quarters ("2025Q3"), their reference dates and rolling windows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from riskmap.errors import InputError

# 2025Q3, 2025-Q3, 2025 Q3 and 2025q3 (upper-cased before matching)
_PERIOD = re.compile(r"^(\d{4})[-\s/]?Q([1-4])$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar quarter.

    Examples
    --------
    >>> p = Period.parse("2025Q3")
    >>> p.start, p.end
    (datetime.date(2025, 7, 1), datetime.date(2025, 9, 30))
    """

    year: int
    quarter: int

    @classmethod
    def parse(cls, text: str | Period) -> Period:
        """Parse ``"2025Q3"`` (also ``"2025-Q3"``, ``"2025 Q3"``, ``"2025q3"``); raise
        :class:`InputError` naming the allowed form."""
        if isinstance(text, Period):
            return text
        match = _PERIOD.match(str(text).strip().upper())
        if not match:
            raise InputError(f"periode {text!r} is geen kwartaal; schrijf het als 2025Q3")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Period:
        """The quarter a date falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def start(self) -> date:
        """First day of the quarter."""
        return date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end(self) -> date:
        """Last day of the quarter (the reference date of indicators)."""
        return (self + 1).start - timedelta(days=1)

    def __add__(self, quarters: int) -> Period:
        index = self.year * 4 + (self.quarter - 1) + quarters
        return Period(index // 4, index % 4 + 1)

    def __sub__(self, quarters: int) -> Period:
        return self + (-quarters)

    def window(self, months: int) -> tuple[date, date]:
        """The window of ``months`` months ending on the quarter's last day.

        Returns ``(first_day, last_day)``, both inclusive: ``window(12)`` of 2025Q3 is
        2024-10-01 .. 2025-09-30.
        """
        if months <= 0 or months % 3:
            raise InputError(f"venster van {months} maanden: gebruik een positief veelvoud van 3")
        return (self - (months // 3 - 1)).start, self.end


def quarters(first: str | Period, last: str | Period) -> list[Period]:
    """All quarters from ``first`` to ``last`` inclusive."""
    a, b = Period.parse(first), Period.parse(last)
    if b < a:
        raise InputError(f"periode {a}..{b} loopt achteruit")
    out = [a]
    while out[-1] < b:
        out.append(out[-1] + 1)
    return out
