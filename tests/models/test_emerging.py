"""Mann-Kendall trend test and emerging hotspot categories."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from riskmap.errors import InputError
from riskmap.models.emerging import EmergingHotspots, mann_kendall


@pytest.mark.parametrize("seed", range(5))
def test_mann_kendall_matches_kendalls_tau_with_time(seed):
    values = np.random.default_rng(seed).normal(size=8)
    tau, p = mann_kendall(values)
    expected = stats.kendalltau(np.arange(8), values, method="exact")
    assert tau == pytest.approx(expected.statistic)
    assert p == pytest.approx(expected.pvalue)


def test_mann_kendall_known_values():
    assert mann_kendall([1, 2, 3, 4]) == pytest.approx((1.0, 1 / 12))  # 2 of 24 orders
    assert mann_kendall([5, 4, 3, 2, 1]) == pytest.approx((-1.0, 2 / 120))
    tau, p = mann_kendall([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6])  # ties: normal approximation
    assert tau > 0.9 and p < 0.001
    assert np.isnan(mann_kendall([1.0, np.nan, 2.0])[0])


def _fit(flags: dict[str, list[bool]], z: dict[str, list[float]] | None = None,
         **settings: float) -> pd.Series:
    periods = [f"2024Q{q}" for q in range(1, 5)] + ["2025Q1", "2025Q2"]
    hot = pd.DataFrame(flags, index=periods).T
    scores = pd.DataFrame(z, index=periods).T if z else hot.astype(float) * 3
    return EmergingHotspots(**settings).fit(scores, hot).categories_


def test_categories_follow_the_hot_history():
    up, down, flat = [2.0, 2.5, 3, 3.5, 4, 4.5], [4.5, 4, 3.5, 3, 2.5, 2.0], [3.0, 3.1, 2.9, 3, 3.1, 3]
    always = [True] * 6
    categories = _fit(
        {"new": [False] * 5 + [True], "up": always, "down": always, "flat": always,
         "sporadic": [True, False, True, False, False, True], "former": [True] * 5 + [False],
         "never": [False] * 6},
        {"new": [0, 0, 0, 0, 0, 3.0], "up": up, "down": down, "flat": flat,
         "sporadic": [3.0, 0, 3, 0, 0, 3], "former": [3.0] * 5 + [0], "never": [0.0] * 6})
    assert categories.to_dict() == {
        "new": "new", "up": "intensifying", "down": "diminishing", "flat": "persistent",
        "sporadic": "sporadic", "former": "former", "never": "no_pattern"}


def test_four_quarters_cannot_show_a_trend(riskmap_log):
    periods = ["2024Q4", "2025Q1", "2025Q2", "2025Q3"]
    hot = pd.DataFrame({"a": [True] * 4}, index=periods).T
    z = pd.DataFrame({"a": [2.0, 3.0, 4.0, 5.0]}, index=periods).T
    fit = EmergingHotspots().fit(z, hot)
    assert fit.categories_["a"] == "persistent"
    assert "4 kwartalen: geen Mann-Kendall-trend kan p < 0,05 halen" in riskmap_log.text


def test_too_few_quarters_are_refused():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=["x", "y", "z"]).T
    with pytest.raises(InputError, match="opkomende hotspots vragen minstens 4 kwartalen; er zijn er 3"):
        EmergingHotspots().fit(frame, frame > 0)
