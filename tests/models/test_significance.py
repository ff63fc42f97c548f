"""Permutation p-values (sidedness, exactness), the permutation count rule and BH FDR."""

from itertools import combinations

import numpy as np
import pytest
from scipy import stats

from riskmap.errors import InputError
from riskmap.models.significance import (
    false_discovery,
    local_sum_test,
    p_values_from_counts,
    permutations_for,
)


def test_two_sided_is_twice_the_smaller_tail_capped_at_one():
    ge, le = np.array([0, 10, 500, 999]), np.array([999, 989, 500, 0])
    greater = p_values_from_counts(ge, le, 999, "greater")
    less = p_values_from_counts(ge, le, 999, "less")
    two = p_values_from_counts(ge, le, 999, "two-sided")
    np.testing.assert_allclose(greater, (ge + 1) / 1000)
    np.testing.assert_allclose(less, (le + 1) / 1000)
    np.testing.assert_allclose(two, np.minimum(1, 2 * np.minimum(greater, less)))
    assert two[0] == pytest.approx(0.002) and two[-1] == pytest.approx(0.002)
    assert two[2] == 1.0


def test_unknown_alternative_names_the_allowed_ones():
    with pytest.raises(InputError, match=r"alternatief 'folded' onbekend; kies uit "
                                         r"\{two-sided, greater, less\}"):
        p_values_from_counts(np.array([1]), np.array([1]), 9, "folded")


@pytest.mark.parametrize("exclude_self", [False, True])
def test_local_sum_test_matches_exact_enumeration(exclude_self):
    rng = np.random.default_rng(3)
    values = rng.integers(0, 6, 9).astype(float)  # integer values: many ties
    window = np.array([2, 3, 1, 4, 2, 3, 2, 1, 3])
    observed = np.array([values[i] + values[(i + 2) % 9] for i in range(9)])
    permutations = 100_000
    test = local_sum_test(values, window, observed, permutations, seed=1,
                          exclude_self=exclude_self)
    for i in range(9):
        pool = [j for j in range(9) if not (exclude_self and j == i)]
        sums = np.array([values[list(c)].sum() for c in combinations(pool, window[i])])
        assert test.greater_equal[i] / permutations == pytest.approx(
            (sums >= observed[i]).mean(), abs=0.005)
        assert test.less_equal[i] / permutations == pytest.approx(
            (sums <= observed[i]).mean(), abs=0.005)
        assert test.mean[i] == pytest.approx(sums.mean(), abs=0.02)
        assert test.std[i] == pytest.approx(sums.std(), abs=0.02)


def test_local_sum_test_is_seeded():
    values = np.arange(20.0)
    window = np.full(20, 4)
    a = local_sum_test(values, window, values * 3, 999, seed=7, exclude_self=True)
    b = local_sum_test(values, window, values * 3, 999, seed=7, exclude_self=True)
    np.testing.assert_array_equal(a.greater_equal, b.greater_equal)


def test_window_larger_than_the_areas_is_refused():
    with pytest.raises(InputError, match="een venster van 4 waarden is niet te trekken uit 3 gebieden"):
        local_sum_test(np.ones(3), np.array([3, 3, 3]), np.ones(3), 99, 0, exclude_self=True)


def test_permutations_let_bh_reject_and_respect_the_cap(riskmap_log):
    # the smallest two-sided p-value 2/(P+1) must not exceed alpha/n
    for n, alpha in [(69, 0.05), (500, 0.01), (10, 0.1)]:
        p = permutations_for(n, alpha)
        assert 2 / (p + 1) <= alpha / n and p >= n / alpha
    assert permutations_for(5, 0.05) == 999
    assert permutations_for(10_000, 0.05) == 99_999
    assert "vragen 399.999 permutaties; begrensd op 99.999" in riskmap_log.text
    assert permutations_for(69, 0.05, requested=99) == 99
    assert "dus na FDR-correctie kan niets significant zijn" in riskmap_log.text
    with pytest.raises(InputError, match=r"alfa moet tussen 0 en 1 liggen, niet 1\.5"):
        permutations_for(10, 1.5)


def test_false_discovery_is_benjamini_hochberg_and_skips_missing():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, np.nan])
    q = false_discovery(p)
    np.testing.assert_allclose(q[:-1], stats.false_discovery_control(p[:-1], method="bh"))
    assert np.isnan(q[-1])
    # hand-computed: q_(i) = min_{j >= i} p_(j) m / j, with m = 8
    np.testing.assert_allclose(q[:3], [0.008, 0.032, 0.0672])
