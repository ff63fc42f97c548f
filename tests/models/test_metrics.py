"""Precision at k (ties pro rata), AUC (ties one half) and log loss, against hand-computed
values and scikit-learn's."""

import numpy as np
import pytest

from riskmap.models.metrics import binary_log_loss, precision_at_k, ranking_auc


def test_precision_at_k_known_values():
    positive = np.array([1, 0, 1, 0, 1, 0], dtype=bool)
    score = np.array([6.0, 5, 4, 3, 2, 1])
    assert precision_at_k(positive, score, 1) == 1.0
    assert precision_at_k(positive, score, 2) == 0.5
    assert precision_at_k(positive, score, 3) == pytest.approx(2 / 3)
    assert precision_at_k(positive, score, 10) == 0.5  # k beyond the areas: all of them


def test_precision_at_k_shares_ties_at_the_cut():
    positive = np.array([1, 1, 0, 0, 0], dtype=bool)
    score = np.array([9.0, 1, 1, 1, 1])  # one sure, four tied for the remaining place
    assert precision_at_k(positive, score, 2) == pytest.approx((1 + 1 / 4) / 2)
    # a constant ranking is a random one: precision is the share of positives
    assert precision_at_k(positive, np.zeros(5), 3) == pytest.approx(2 / 5)


def test_auc_counts_ties_half_and_ranks_missing_last():
    positive = np.array([1, 0, 1, 0], dtype=bool)
    assert ranking_auc(positive, np.array([4.0, 3, 2, 1])) == pytest.approx(0.75)
    assert ranking_auc(positive, np.array([1.0, 1, 1, 1])) == 0.5
    assert ranking_auc(positive, np.array([np.nan, 3, 2, 1])) == pytest.approx(0.25)
    assert np.isnan(ranking_auc(np.ones(3, dtype=bool), np.arange(3.0)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_is_scikit_learns(seed: int):
    """The rank form gives scikit-learn's ``roc_auc_score`` (the trapezoids of the ROC curve),
    with many ties and missing scores."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    positive = rng.random(300) < 0.2
    score = rng.integers(0, 12, 300).astype(float)  # many ties
    score[rng.random(300) < 0.1] = np.nan
    filled = np.where(np.isnan(score), np.nanmin(score) - 1, score)
    assert ranking_auc(positive, score) == pytest.approx(roc_auc_score(positive, filled),
                                                         rel=1e-12, abs=0)
    assert ranking_auc(positive, -score) == pytest.approx(
        roc_auc_score(positive, np.where(np.isnan(score), np.nanmin(-score) - 1, -score)),
        rel=1e-12, abs=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_loss_is_that_of_scikit_learn(seed: int):
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(seed)
    found = rng.integers(0, 2, 300)
    chance = rng.random(300)
    chance[:4] = [0.0, 1.0, 1e-20, 1 - 1e-17]  # clipped at machine epsilon, as scikit-learn does
    assert binary_log_loss(found, chance) == log_loss(found, chance, labels=[0, 1])
