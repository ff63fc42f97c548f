from datetime import date

import pytest

from riskmap.errors import InputError
from riskmap.periods import Period, quarters


def test_parse_and_dates():
    p = Period.parse("2025q3")
    assert str(p) == "2025Q3"
    assert (p.start, p.end) == (date(2025, 7, 1), date(2025, 9, 30))
    assert Period.parse("2024Q4").end == date(2024, 12, 31)


def test_arithmetic_crosses_years():
    assert str(Period(2025, 1) - 1) == "2024Q4"
    assert str(Period(2024, 4) + 1) == "2025Q1"
    assert Period.of(date(2025, 5, 17)) == Period(2025, 2)


def test_window_ends_on_last_day_of_quarter():
    assert Period(2025, 3).window(12) == (date(2024, 10, 1), date(2025, 9, 30))
    assert Period(2025, 3).window(3) == (date(2025, 7, 1), date(2025, 9, 30))
    assert Period(2025, 1).window(24) == (date(2023, 4, 1), date(2025, 3, 31))


@pytest.mark.parametrize("text", ["2025Q3", "2025-Q3", "2025q3", " 2025 q3 ", "2025/Q3"])
def test_quarter_spellings_are_accepted(text):
    assert Period.parse(text) == Period(2025, 3)


@pytest.mark.parametrize("text", ["2025-3", "2025Q5", "Q3 2025", "2025--Q3", ""])
def test_bad_period_names_the_form(text):
    with pytest.raises(InputError, match="schrijf het als 2025Q3"):
        Period.parse(text)


def test_bad_window_and_range():
    with pytest.raises(InputError, match="veelvoud van 3"):
        Period(2025, 3).window(5)
    with pytest.raises(InputError, match="achteruit"):
        quarters("2025Q3", "2025Q1")
    assert [str(q) for q in quarters("2024Q4", "2025Q2")] == ["2024Q4", "2025Q1", "2025Q2"]
