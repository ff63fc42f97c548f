"""Scoring on a tiny fixture with hand-computed values, the coverage rule, determinism and a
property test: raising one indicator in its risk direction never lowers an area's score."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmap.errors import ConfigError
from riskmap.indicators.scoring import (
    Design,
    aggregate,
    drivers,
    effective_weights,
    normalise,
    overall_score,
    prepare,
    rank_descending,
    shape,
    substitute,
    substituted,
    theme_scores,
    themes_applicable,
    uncertainty,
    winsorise,
)

NAN = float("nan")
RAW = pd.DataFrame({"i1": [1, 2, 4, 9], "i2": [10, 20, 30, NAN], "i3": [5, NAN, 1, 3]},
                   index=pd.Index(["A", "B", "C", "D"], name="area_code"), dtype=float)
DESIGN = Design(directions=pd.Series({"i1": 1.0, "i2": -1.0, "i3": 1.0}),
                weights=pd.Series({"i1": 1.0, "i2": 1.0, "i3": 1.0}),
                themes={"t1": ["i1", "i2"], "t2": ["i3"]},
                theme_weights=pd.Series({"t1": 1.0, "t2": 1.0}))


def test_percentile_normalisation_by_hand():
    n = prepare(RAW, DESIGN, "percentile")
    np.testing.assert_allclose(n["i1"], [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(n["i2"], [1, 0.5, 0, NAN])  # lower = more risk
    np.testing.assert_allclose(n["i3"], [1, NAN, 0, 0.5])


def test_minmax_and_zscore_by_hand():
    np.testing.assert_allclose(prepare(RAW, DESIGN, "minmax")["i1"], [0, 1 / 8, 3 / 8, 1])
    z = prepare(RAW, DESIGN, "zscore")["i1"]
    sd = math.sqrt((9 + 4 + 0 + 25) / 4)
    np.testing.assert_allclose(z, [-3 / sd, -2 / sd, 0, 5 / sd])


def test_ties_and_constants():
    frame = pd.DataFrame({"a": [1.0, 1.0, 2.0], "b": [3.0, 3.0, 3.0]})
    np.testing.assert_allclose(normalise(frame, "percentile")["a"], [0.25, 0.25, 1.0])
    assert normalise(frame, "minmax")["b"].tolist() == [0.5, 0.5, 0.5]
    assert normalise(frame, "zscore")["b"].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ConfigError, match=r"normalisatie 'rank' onbekend; kies uit "
                                          r"\{percentile, zscore, minmax\}"):
        normalise(frame, "rank")


def test_arithmetic_themes_coverage_and_overall_by_hand():
    n = prepare(RAW, DESIGN, "percentile")
    themes = theme_scores(n, DESIGN)
    np.testing.assert_allclose(themes["t1"], [0.5, (1 / 3 + 0.5) / 2, 1 / 3, 1.0])
    # t2 has one indicator: B lacks it, so B's theme score is missing, never zero
    np.testing.assert_allclose(themes["t2"], [1.0, NAN, 0.0, 0.5])
    overall = overall_score(themes, DESIGN.theme_weights)
    np.testing.assert_allclose(overall, [0.75, (1 / 3 + 0.5) / 2, 1 / 6, 0.75])
    assert rank_descending(overall).tolist() == [1, 3, 4, 2]  # A and D tie: code order


def test_coverage_needs_half_the_weight():
    frame = pd.DataFrame({"a": [1.0, NAN], "b": [NAN, NAN], "c": [NAN, 0.2]})
    weights = pd.Series({"a": 2.0, "b": 1.0, "c": 1.0})
    result = aggregate(frame, weights)
    assert result.iloc[0] == 1.0  # 2 of 4 weight available: exactly half is enough
    assert math.isnan(result.iloc[1])  # 1 of 4: missing


def test_indicators_that_do_not_apply_do_not_count_against_coverage():
    frame = pd.DataFrame({"a": [0.4, 0.4, 0.4], "b": [0.8, 0.8, NAN], "c": [NAN, NAN, NAN],
                          "d": [NAN, NAN, NAN]})
    weights = pd.Series({"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0})
    applies = pd.DataFrame({"a": True, "b": True, "c": [True, False, False],
                            "d": [True, False, False]}, index=frame.index)
    result = aggregate(frame, weights, applicable=applies, minimum=2)
    assert result.iloc[0] == pytest.approx(0.6)  # half of all the weight: the old rule holds
    assert result.iloc[1] == pytest.approx(0.6)  # c and d do not apply: 2 of 2 present
    assert math.isnan(result.iloc[2])  # 1 of 2 applicable present, but a score from one alone


def test_a_fallback_stands_in_only_where_its_primary_is_missing():
    raw = pd.DataFrame({"p": [1.0, 2.0, NAN, NAN], "f": [40.0, 10.0, 30.0, NAN],
                        "q": [3.0, 2.0, 1.0, 0.0]}, index=list("ABCD"))
    design = Design(directions=pd.Series({"p": 1.0, "f": 1.0, "q": 1.0}),
                    weights=pd.Series({"p": 1.0, "f": 1.0, "q": 1.0}),
                    themes={"t": ["p", "q"]}, theme_weights=pd.Series({"t": 1.0}),
                    fallbacks={"f": "p"})
    n = prepare(raw, design, "percentile")
    assert list(n.columns) == ["p", "q"]  # the fallback is no column of its own: nothing twice
    np.testing.assert_allclose(n["p"], [0.0, 1.0, 0.5, NAN])  # C: f's percentile (30 of 10..40)
    assert substituted(raw, design)["p"].tolist() == [False, False, True, False]
    mask = substitute(pd.DataFrame({"p": [False, True], "f": [True, False], "q": True}), design)
    assert mask["p"].tolist() == [True, True]
    applies = themes_applicable(mask, design, mask.index)
    assert applies is not None and applies["t"].all()


def test_overall_needs_two_themes_when_others_do_not_apply():
    themes = pd.DataFrame({"t1": [0.5, 0.5], "t2": [0.7, NAN], "t3": [NAN, NAN]})
    applies = pd.DataFrame({"t1": True, "t2": True, "t3": False}, index=themes.index)
    result = overall_score(themes, pd.Series({"t1": 1.0, "t2": 1.0, "t3": 1.0}), applies)
    assert result.iloc[0] == pytest.approx(0.6)
    assert math.isnan(result.iloc[1])


def test_uncertainty_follows_the_coverage_rules():
    raw = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [2.0, 1.0, NAN], "c": [1.0, 3.0, NAN]},
                       index=list("XYZ"))
    design = Design(directions=pd.Series({"a": 1.0, "b": 1.0, "c": 1.0}),
                    weights=pd.Series({"a": 1.0, "b": 1.0, "c": 1.0}),
                    themes={"t1": ["a"], "t2": ["b"], "t3": ["c"]},
                    theme_weights=pd.Series({"t1": 1.0, "t2": 1.0, "t3": 1.0}))
    applies = pd.DataFrame({"a": True, "b": [True, True, False], "c": [True, True, False]},
                           index=raw.index)
    result = uncertainty(raw, design, draws=20, spread=0.5, seed=1, applicable=applies)
    assert result["rank_median"].notna().tolist() == [True, True, False]  # Z: one theme only


def test_geometric_aggregation_by_hand():
    frame = pd.DataFrame({"a": [0.0, 0.5], "b": [1.0, 0.5]})
    result = aggregate(frame, pd.Series({"a": 1.0, "b": 1.0}), "geometric")
    assert result.iloc[0] == pytest.approx((math.sqrt(1 * 100) - 1) / 99)  # = 0.0909...
    assert result.iloc[1] == pytest.approx(0.5)
    with pytest.raises(ConfigError, match=r"geometrische aggregatie vraagt waarden in \[0, 1\]"):
        aggregate(frame * 3, pd.Series({"a": 1.0, "b": 1.0}), "geometric")


def test_winsorise_caps_outliers_by_handbook_rule():
    values = pd.Series([1.0] * 10 + [2.0, 3.0, 100.0])
    treated, n = winsorise(values)
    assert n >= 1 and treated.max() < 100
    normal = pd.Series(np.linspace(0, 1, 20))
    assert winsorise(normal)[1] == 0


def test_shape_is_scipy_skewness_and_excess_kurtosis():
    from scipy import stats
    rng = np.random.default_rng(7)
    samples = [rng.lognormal(size=n) for n in (3, 5, 40, 400)] + [
        rng.integers(0, 4, 30).astype(float), np.full(6, 2.5), np.array([1e9, 1e9, 1e9 + 1])]
    for v in samples:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # scipy: constant values
            expected = (stats.skew(v), stats.kurtosis(v))
        np.testing.assert_allclose(shape(v), expected, rtol=1e-9, equal_nan=True)
    assert all(math.isnan(x) for x in shape(np.full(6, 2.5)))
    # values that vary by so little that the moments underflow (found by hypothesis)
    assert all(math.isnan(x) for x in shape(np.array([5.8e-163, 2.3e-141, 0.0, 0.0])))


def test_effective_weights_and_drivers():
    weights = effective_weights(DESIGN)
    np.testing.assert_allclose(weights[["i1", "i2", "i3"]], [0.25, 0.25, 0.5])
    top = drivers(prepare(RAW, DESIGN, "percentile"), DESIGN)
    assert top["A"][0] == "i3"  # A's largest push above average is its high i3
    assert "i1" in top["D"]


def test_effective_weights_of_shared_and_unweighted_indicators():
    """An indicator in two themes carries a share of each; a theme weighted 0 carries none; a
    theme whose indicators all weigh 0 makes theirs unknown (NaN), not an error."""
    design = Design(pd.Series(1, index=["a", "b", "c", "d", "e"]),
                    pd.Series([1.0, 3.0, 2.0, 5.0, 0.0], index=["a", "b", "c", "d", "e"]),
                    {"t1": ["a", "b"], "t2": ["b", "c"], "t3": ["d"], "t4": ["e"]},
                    pd.Series([1.0, 1.0, 0.0, 2.0], index=["t1", "t2", "t3", "t4"]))
    weights = effective_weights(design)
    assert weights.index.tolist() == ["a", "b", "c", "d", "e"]
    np.testing.assert_allclose(weights[["a", "b", "c", "d"]],
                               [0.25 * 1 / 4, 0.25 * 3 / 4 + 0.25 * 3 / 5, 0.25 * 2 / 5, 0.0])
    assert math.isnan(weights["e"])


def test_uncertainty_is_deterministic_and_brackets_rank():
    rng = np.random.default_rng(0)
    raw = pd.DataFrame(rng.normal(size=(30, 3)), columns=["i1", "i2", "i3"])
    a = uncertainty(raw, DESIGN, draws=200, spread=0.5, seed=7)
    b = uncertainty(raw, DESIGN, draws=200, spread=0.5, seed=7)
    pd.testing.assert_frame_equal(a, b)
    base = rank_descending(overall_score(theme_scores(prepare(raw, DESIGN, "percentile"), DESIGN),
                                         DESIGN.theme_weights))
    assert ((a["rank_low"] <= a["rank_median"]) & (a["rank_median"] <= a["rank_high"])).all()
    inside = (a["rank_low"] <= base.astype(float)) & (base.astype(float) <= a["rank_high"])
    assert inside.mean() > 0.8
    assert not uncertainty(raw, DESIGN, draws=200, spread=0.5, seed=8).equals(a)


@st.composite
def _case(draw):
    n = draw(st.integers(3, 12))
    values = draw(st.lists(st.floats(0, 100, allow_nan=False), min_size=3 * n, max_size=3 * n))
    raw = pd.DataFrame(np.array(values).reshape(n, 3), columns=["i1", "i2", "i3"])
    area = draw(st.integers(0, n - 1))
    column = draw(st.sampled_from(["i1", "i2", "i3"]))
    delta = draw(st.floats(0.01, 1000))
    method = draw(st.sampled_from(["percentile", "minmax", "zscore"]))
    return raw, area, column, delta, method


def _score(raw: pd.DataFrame, method: str) -> pd.Series:
    return overall_score(theme_scores(prepare(raw, DESIGN, method), DESIGN), DESIGN.theme_weights)


@settings(max_examples=400, deadline=None)
@given(_case())
def test_raising_an_indicator_in_its_risk_direction_never_lowers_the_score(case):
    raw, area, column, delta, method = case
    before = _score(raw, method).iloc[area]
    raised = raw.copy()
    raised.loc[area, column] += delta * DESIGN.directions[column]
    after = _score(raised, method).iloc[area]
    assert after >= before - 1e-9


def test_rank_percentiles_are_numpys_leaving_out_missing_draws():
    from riskmap.indicators.scoring import _row_percentile

    rng = np.random.default_rng(4)
    ranks = rng.integers(1, 500, size=(300, 200)).astype(float)
    ranks[rng.random(ranks.shape) < 0.002] = np.nan  # a draw without a score for some areas
    assert 0 < np.isnan(ranks).any(axis=1).sum() < len(ranks)
    np.testing.assert_array_equal(_row_percentile(ranks, 50), np.nanmedian(ranks, axis=1))
    for q in (5, 95):
        np.testing.assert_array_equal(_row_percentile(ranks, q), np.nanpercentile(ranks, q, axis=1))
