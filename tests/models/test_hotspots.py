"""Gi* and local Moran on small lattices with known answers."""

import warnings

import numpy as np
import pandas as pd
import pytest
from esda.getisord import G_Local
from esda.moran import Moran_Local
from libpysal.weights import W, lat2W
from scipy import stats

from riskmap.errors import InputError
from riskmap.models.hotspots import (
    GetisOrdHotspots,
    LocalMoranClusters,
    hotspot_table,
    shown_hotspots,
    withhold_small_windows,
)
from riskmap.models.weights import Neighbours

SIDE = 10
CLUSTER = [r * SIDE + c for r in range(3, 6) for c in range(3, 6)]  # 3 x 3 block in the middle


def lattice() -> Neighbours:
    return Neighbours.from_weights(lat2W(SIDE, SIDE, rook=False),
                                   [f"c{i:02d}" for i in range(SIDE * SIDE)])


def planted(high: float = 10.0, low: float = 1.0) -> np.ndarray:
    values = np.full(SIDE * SIDE, low)
    values[CLUSTER] = high
    return values


def test_gi_star_finds_the_planted_cluster_and_nothing_else():
    fit = GetisOrdHotspots(seed=1).fit(planted(), lattice())
    hot = set(np.flatnonzero(fit.categories_ == "hotspot"))
    centre = 4 * SIDE + 4
    assert centre in hot
    assert hot <= set(CLUSTER)  # no false hot spot
    assert len(hot) >= 5
    assert (fit.categories_ != "coldspot").all()


def test_gi_star_statistic_and_z_are_esda_values():
    values, neighbours = planted(), lattice()
    fit = GetisOrdHotspots(seed=1).fit(values, neighbours)
    esda = G_Local(values, lat2W(SIDE, SIDE, rook=False), transform="B", star=True,
                   permutations=0)
    np.testing.assert_allclose(fit.statistic_, esda.Gs)
    np.testing.assert_allclose(fit.z_, esda.Zs)
    window = neighbours.matrix @ values + values
    np.testing.assert_allclose(fit.statistic_, window / values.sum())


def test_gi_star_is_esdas_on_irregular_weights_with_an_island():
    """Gi* and its z computed from the window sums are esda's ``G_Local`` (binary, star) also
    for areas with different numbers of neighbours and one without any."""
    rng = np.random.default_rng(3)
    n = 40
    links = {i: set() for i in range(n)}
    for i, j in rng.integers(0, n - 1, size=(90, 2)):  # area n - 1 stays an island
        if i != j:
            links[i].add(j)
            links[j].add(i)
    weights = W({i: sorted(js) for i, js in links.items()}, silence_warnings=True)
    values = rng.gamma(2.0, 3.0, n)
    fit = GetisOrdHotspots(seed=1).fit(values, Neighbours.from_weights(weights, range(n)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # esda's weights with a diagonal: "not fully connected"
        esda = G_Local(values, W({i: sorted(js) for i, js in links.items()},
                                 silence_warnings=True), transform="B", star=True, permutations=0)
    assert fit.neighbours_[n - 1] == 0 and len({len(js) for js in links.values()}) > 3
    np.testing.assert_allclose(fit.statistic_, esda.Gs, rtol=1e-12)
    np.testing.assert_allclose(fit.z_, esda.Zs, rtol=1e-12)


def test_gi_star_p_values_are_the_exact_two_sided_values():
    """A 3 x 3 window of ones among 91 ones and 9 tens is never high; its lower tail is the
    hypergeometric chance of drawing no ten, and the two-sided p-value twice that."""
    fit = GetisOrdHotspots(permutations=19_999, seed=2).fit(planted(), lattice())
    far = 8 * SIDE + 8  # nine ones in its window
    lower = stats.hypergeom(100, 9, 9).pmf(0)
    assert fit.p_values_[far] == pytest.approx(min(1.0, 2 * lower), abs=0.02)
    centre = 4 * SIDE + 4  # nine tens: the most extreme window there is
    assert fit.p_values_[centre] == pytest.approx(2 / 20_000)


def test_sidedness_a_cold_cluster_mirrors_the_hot_one():
    hot = GetisOrdHotspots(seed=3).fit(planted(10, 1), lattice())
    cold = GetisOrdHotspots(seed=3).fit(planted(1, 10), lattice())
    assert set(np.flatnonzero(cold.categories_ == "coldspot")) == \
        set(np.flatnonzero(hot.categories_ == "hotspot"))
    np.testing.assert_allclose(cold.z_, -hot.z_)


@pytest.mark.filterwarnings("ignore:The alternative hypothesis:DeprecationWarning")
def test_local_moran_two_sided_is_twice_esdas_one_sided_p_sim():
    """esda's p_sim is the one-sided p-value in the observed direction (Monte Carlo noise of
    two independent runs of 9,999 permutations is below 0.05)."""
    rng = np.random.default_rng(5)
    values = planted() + rng.normal(0, 1, SIDE * SIDE)
    ours = LocalMoranClusters(permutations=9_999, seed=4).fit(values, lattice())
    esda = Moran_Local(values, lat2W(SIDE, SIDE, rook=False), transformation="r",
                       permutations=9_999, seed=4)
    np.testing.assert_allclose(ours.p_values_, np.minimum(1, 2 * esda.p_sim), atol=0.05)
    np.testing.assert_allclose(ours.statistic_, esda.Is)
    assert set(np.flatnonzero(ours.categories_ == "high_high")) <= set(CLUSTER)
    assert (ours.categories_[CLUSTER[4]] == "high_high")


def test_weights_are_not_changed_by_fitting():
    neighbours = lattice()
    weights = neighbours.weights
    before = (weights.transform, weights.weights, dict(weights.transformations))
    for _ in range(2):  # and a second fit computes the same
        moran = LocalMoranClusters(seed=1).fit(planted(), neighbours)
        gi = GetisOrdHotspots(seed=1).fit(planted(), neighbours)
        assert (weights.transform, weights.weights, weights.transformations) == before
        assert weights.weights is before[1] and neighbours.matrix.max() == 1
    np.testing.assert_array_equal(moran.statistic_, LocalMoranClusters(seed=1).fit(
        planted(), lattice()).statistic_)
    np.testing.assert_array_equal(gi.statistic_, GetisOrdHotspots(seed=1).fit(
        planted(), lattice()).statistic_)


def test_islands_are_reported_and_not_tested():
    weights = W({0: [1], 1: [0, 2], 2: [1, 3], 3: [2], 4: []}, silence_warnings=True)
    neighbours = Neighbours.from_weights(weights, ["a", "b", "c", "d", "e"])
    assert neighbours.islands == ["e"]
    assert "1 zonder buren (e)" in neighbours.describe("test")
    fit = GetisOrdHotspots(seed=1).fit(np.array([1.0, 2, 3, 4, 5]), neighbours)
    assert fit.categories_[4] == "no_neighbours"
    assert np.isnan(fit.p_values_[4]) and np.isnan(fit.q_values_[4])


def test_fdr_decides_significance():
    fit = GetisOrdHotspots(seed=1).fit(planted(), lattice())
    np.testing.assert_allclose(fit.q_values_, stats.false_discovery_control(fit.p_values_))
    assert ((fit.categories_ != "not_significant") == (fit.q_values_ <= 0.05)).all()


def test_hotspot_table_keeps_areas_without_a_value(riskmap_log):
    neighbours = lattice()
    values = pd.Series(planted(), index=neighbours.codes)
    values["extra"] = np.nan
    table = hotspot_table(values, neighbours, seed=1)
    assert len(table) == SIDE * SIDE + 1
    assert table.set_index("area_code").loc["extra", "category"] == "no_value"
    assert "1 gebieden zonder waarde niet meegenomen in gi_star: extra" in riskmap_log.text


@pytest.mark.parametrize(("values", "message"), [
    (np.r_[-1.0, np.ones(99)], "Gi\\* vraagt waarden van 0 of meer"),
    (np.r_[np.nan, np.ones(99)], "1 ontbrekende waarden"),
    (np.zeros(100), "niet overal 0"),
    (np.ones(7), "7 waarden voor 100 gebieden"),
])
def test_bad_values_are_refused(values, message):
    with pytest.raises(InputError, match=message):
        GetisOrdHotspots().fit(values, lattice())


def test_unknown_method_names_the_choices():
    values = pd.Series(planted(), index=lattice().codes)
    with pytest.raises(InputError, match=r"methode 'getis' onbekend; kies uit \{gi_star, local_moran\}"):
        hotspot_table(values, lattice(), method="getis")


def test_grid_hot_spots_with_few_records_around_them_are_withheld():
    table = pd.DataFrame({"area_code": ["a", "b", "c", "d"], "window_sum": [3.0, 12.0, 2.0, np.nan],
                          "category": ["hotspot", "hotspot", "not_significant", "no_value"]})
    shown = withhold_small_windows(table, min_count=5)
    assert shown["category"].tolist() == ["withheld", "hotspot", "not_significant", "no_value"]
    assert table["category"].iloc[0] == "hotspot"  # the input is not changed
    assert shown_hotspots(shown.assign(z=[3.0, 4.0, 0.1, np.nan],
                                       q_value=[0.01, 0.01, 0.9, np.nan]))["Code"].tolist() == ["b"]


def test_hotspot_runs_do_not_import_the_track_record():
    """Hotspots need neither the rankings nor matplotlib (importing them was 0.6 of the 3.9 s
    of a national Gi* run)."""
    import subprocess
    import sys

    code = ("import sys, riskmap.models.runs; print(' '.join(m for m in ('matplotlib', "
            "'riskmap.models.backtest', 'riskmap.models.supervised') if m in sys.modules) or '-')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "-"
