"""Map classes: quantile bins as mapclassify makes them, the missing class, fixed categorical
colours."""

from __future__ import annotations

import warnings

import mapclassify
import numpy as np
import pandas as pd
import pytest

from riskmap.maps.classes import (
    MISSING_COLOUR,
    MISSING_LABEL,
    _bins,
    categorical,
    classify,
    quantile_bins,
)


@pytest.mark.parametrize("k", [2, 3, 5, 7])
def test_quantile_classes_are_those_of_mapclassify(k):
    rng = np.random.default_rng(k)
    samples = [rng.lognormal(size=n) for n in (3, 11, 250)] + [
        rng.integers(0, 6, 80).astype(float), np.r_[np.zeros(40), rng.random(9)],
        np.array([0.1, 0.2, 0.2, 0.2, 0.3])]
    for y in samples:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            theirs = mapclassify.Quantiles(y, k=k)
        np.testing.assert_array_equal(quantile_bins(y, k), theirs.bins)
        values = pd.Series(y + 0.01)  # not whole numbers: the classes as they come
        ours = _bins(values, k, "Quantiles")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            theirs = mapclassify.Quantiles(values.to_numpy(), k=min(k, values.nunique()))
        np.testing.assert_array_equal(ours[0], theirs.bins)
        np.testing.assert_array_equal(ours[1], theirs.yb)


def test_another_scheme_is_mapclassify_s():
    values = pd.Series([0.5, 1.5, 2.5, 9.5, 20.5])
    bins, classes = _bins(values, 2, "EqualInterval")
    np.testing.assert_allclose(bins, [10.5, 20.5])
    assert list(classes) == [0, 0, 0, 0, 1]


def test_missing_values_are_their_own_class_never_binned():
    values = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, 9, np.nan])
    classes = classify(values, k=3)
    assert classes.colours.iloc[-1] == MISSING_COLOUR
    assert MISSING_COLOUR not in set(classes.colours.iloc[:-1])
    assert classes.legend[-1] == (MISSING_COLOUR, MISSING_LABEL)
    assert len(classes.legend) == 4


def test_legend_labels_use_decimal_commas_and_cover_the_range():
    classes = classify(pd.Series([0.5, 1.5, 2.5, 3.5]), k=2)
    labels = [label for _, label in classes.legend]
    assert labels[0].startswith("0,5")
    assert labels[-1].endswith("3,5")


def test_a_single_value_gets_one_class_and_no_missing_entry():
    classes = classify(pd.Series([4.0, 4.0]))
    assert len(classes.legend) == 1
    assert len(set(classes.colours)) == 1


def test_categorical_keeps_the_given_order_and_treats_unknown_values_as_missing():
    values = pd.Series(["b", "a", "x", None])
    classes = categorical(values, {"a": "#111111", "b": "#222222", "c": "#333333"})
    assert list(classes.colours) == ["#222222", "#111111", MISSING_COLOUR, MISSING_COLOUR]
    assert [label for _, label in classes.legend] == ["a", "b", MISSING_LABEL]


def test_counts_get_whole_number_classes_without_overlap():
    values = pd.Series([5.0, 5, 5, 5, 6, 6, 7, 8, 9, 12])
    labels = [label for _, label in classify(values).legend]
    assert labels[0] == "5"
    assert all("," not in label for label in labels)
    assert labels[-1].endswith("12")
