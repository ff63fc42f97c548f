"""Dutch formatting: the numbers every output writes."""

import math

import pytest
from babel.numbers import format_decimal

from riskmap import fmt


@pytest.mark.parametrize(("value", "decimals", "text"), [
    (1234.5, 1, "1.234,5"), (-1234.5, 1, "-1.234,5"), (0.0, 1, "0,0"), (-0.0, 1, "-0,0"),
    (8173, 0, "8.173"), (float("nan"), 1, fmt.MISSING), (None, 0, fmt.MISSING),
    (2.5, 0, "2"), (3.5, 0, "4"),  # half to even, as Babel rounds
])
def test_numbers_are_dutch(value, decimals, text):
    assert fmt.number(value, decimals) == text
    assert fmt.number(value, decimals) == text  # the second time from what was remembered


def test_remembered_numbers_are_babels_own():
    values = [math.ldexp(k, -7) * sign for k in range(0, 5_000, 7) for sign in (1, -1)]
    values += [v * 1e5 + 0.5 for v in range(-50, 50)]
    for decimals in (0, 1, 2):
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        for value in values * 2:
            assert fmt.number(value, decimals) == \
                format_decimal(value, format=pattern, locale="nl_NL"), (value, decimals)
    assert fmt.percent(0.125, 1) == "12,5%" and fmt.signed(-0.0) == "−0,0"
