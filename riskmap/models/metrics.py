"""The measures rankings and chances are judged by: precision at k and AUC of a ranking, log
loss of chances; in plain numpy, as scikit-learn computes them, without its checks of the
arguments (4-5 ms a call, over the hundreds of calls of a track record)."""

from __future__ import annotations

import numpy as np


def precision_at_k(positive: np.ndarray, score: np.ndarray, k: int) -> float:
    """Share of positives among the ``k`` highest scores, ties at the cut-off pro rata."""
    positive = np.asarray(positive, dtype=bool)
    score = np.nan_to_num(np.asarray(score, dtype=float), nan=-np.inf)
    k = min(k, positive.size)
    if k == 0:
        return float("nan")
    cut = np.sort(score)[::-1][k - 1]
    above = score > cut
    tied = score == cut
    share = (k - above.sum()) / tied.sum()
    return float((positive[above].sum() + share * positive[tied].sum()) / k)


def ranking_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """AUC of ``score`` for ``positive`` (NaN scores rank last); NaN with one class only.

    As the Mann-Whitney statistic: the chance that a positive area scores above a negative one,
    ties counting half (scikit-learn's ``roc_auc_score``, without its checks of 4 ms a call).
    """
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score, dtype=float)
    if positive.all() or not positive.any() or np.isnan(score).all():
        return float("nan")
    score = np.where(np.isnan(score), np.nanmin(score) - 1, score)
    order = np.argsort(score, kind="stable")
    _, first, ties = np.unique(score[order], return_index=True, return_counts=True)
    ranks = np.empty(len(score))
    ranks[order] = np.repeat(first + (ties + 1) / 2, ties)  # from 1, ties their mean
    n_pos = int(positive.sum())
    n_neg = len(score) - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_log_loss(found: np.ndarray, chance: np.ndarray) -> float:
    """Mean log loss of chances of a finding (``sklearn.metrics.log_loss`` of ``found`` and
    ``chance`` with ``labels=[0, 1]``: chances clipped to machine epsilon from 0 and 1), without
    its checks of the labels, which cost 5 ms a call on a few hundred rows."""
    eps = np.finfo(float).eps
    chance = np.asarray(chance, dtype=float)
    shown = np.where(np.asarray(found) == 1, chance, 1 - chance)
    return float(-np.mean(np.log(np.clip(shown, eps, 1 - eps))))
