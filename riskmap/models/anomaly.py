r"""Bedrijventerreinen with an unusual branch mix, and the branches that make it so.

The branch mix of a terrein is the number of its active establishments per category: each risk
branch of ``config/risk_branches.yaml``, and the harmonised (SBI 2025) section (``sectie_H``,
...) for all other establishments. :class:`BranchMixAnomaly` scores how isolated each
terrein's mix is among the gemeente's terreinen with an IsolationForest, and explains each
score by the categories that are over-represented compared with the other terreinen.

Notes
-----
Mixes are compositions, so they are compared after the centred log-ratio transform of the
shares (with half a establishment added to every cell so that empty categories stay finite):

.. math:: \operatorname{clr}(p)_b = \log p_b - \frac{1}{B} \sum_{c=1}^{B} \log p_c .

The anomaly score is IsolationForest's :math:`s \in (0, 1]` (Liu, Ting and Zhou 2008); a terrein
is *unusual* when :math:`s > 0.5`, the forest's own threshold. The explanation of terrein
:math:`t` lists the categories with the largest positive
:math:`\operatorname{clr}(p_t)_b - \operatorname{median}_{u \ne t} \operatorname{clr}(p_u)_b`.
A forest learns what is usual from the terreinen themselves: with fewer than ten, treat the
scores as a pointer for a closer look, not as a finding (this is logged).
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from riskmap.areatypes import area_sql
from riskmap.branches import risk_branches
from riskmap.errors import InputError
from riskmap.periods import Period
from riskmap.sbi import section_titles
from riskmap.store import Store

log = logging.getLogger(__name__)

MIN_TERREINEN = 3
FEW_TERREINEN = 10
PSEUDO_COUNT = 0.5


def category_labels() -> dict[str, str]:
    """Dutch label of every branch-mix category."""
    labels = {f"sectie_{s}": f"Overig: {t}" for s, t in section_titles().items()}
    labels["sectie_onbekend"] = "Overig: zonder SBI-code of activiteit"
    labels.update({key: branch.label for key, branch in risk_branches().items()})
    return labels


def branch_mix(store: Store, period: Period) -> pd.DataFrame:
    """Active establishments at the end of ``period`` per bedrijventerrein (rows) and category."""
    area = area_sql("bedrijventerrein")
    frame = store.query(f"SELECT {area} AS area_code, coalesce(branch, 'sectie_' || "
                        f"coalesce(section, 'onbekend')) AS category FROM establishments WHERE "
                        f"{area} IS NOT NULL AND start_date <= ? AND "
                        f"(end_date IS NULL OR end_date > ?)", [period.end, period.end])
    return pd.crosstab(frame["area_code"], frame["category"]).rename_axis(index=None, columns=None)


class BranchMixAnomaly:
    """IsolationForest on the branch mix of bedrijventerreinen (see the module notes).

    Parameters
    ----------
    trees
        Number of isolation trees.
    seed
        Seed of the forest.

    Attributes
    ----------
    scores_ : pd.Series
        Anomaly score :math:`s` per terrein (higher = more unusual).
    unusual_ : pd.Series
        Whether :math:`s > 0.5`.
    deviations_ : pd.DataFrame
        clr deviation of every category from the other terreinen' median (terreinen x categories).
    counts_ : pd.DataFrame
        The counts the forest was fitted on.
    """

    def __init__(self, trees: int = 500, seed: int = 0) -> None:
        self.trees = trees
        self.seed = seed

    def fit(self, counts: pd.DataFrame) -> BranchMixAnomaly:
        """Score terreinen (rows) by their counts per category (columns)."""
        if len(counts) < MIN_TERREINEN:
            raise InputError(f"een afwijkende branchemix vraagt minstens {MIN_TERREINEN} "
                             f"bedrijventerreinen om te vergelijken; er zijn er {len(counts)}")
        if len(counts) < FEW_TERREINEN:
            log.info("maar %d bedrijventerreinen: de afwijkingsscores van de branchemix zijn een "
                     "aanwijzing, geen bevinding",
                     len(counts))
        logs = np.log(counts.to_numpy(float) + PSEUDO_COUNT)  # clr of shares = clr of counts
        clr = logs - logs.mean(axis=1, keepdims=True)
        forest = IsolationForest(n_estimators=self.trees, max_samples=min(256, len(counts)),
                                 random_state=self.seed).fit(clr)
        self.scores_ = pd.Series(-forest.score_samples(clr), index=counts.index, name="score")
        self.unusual_ = self.scores_ > 0.5
        others = np.array([np.median(np.delete(clr, t, axis=0), axis=0)
                           for t in range(len(counts))])
        self.deviations_ = pd.DataFrame(clr - others, index=counts.index, columns=counts.columns)
        self.counts_ = counts
        return self

    def explain(self, top: int = 3, min_count: int = 5) -> pd.Series:
        """Per terrein, the ``top`` categories most over-represented (JSON list of keys).

        Only categories with at least ``min_count`` establishments on the terrein are named, so
        an explanation never points at one or a few businesses.
        """
        out = {}
        for code, row in self.deviations_.iterrows():
            large = self.counts_.loc[code] >= min_count
            ranked = row[(row > 0) & large].sort_values(ascending=False)
            out[code] = json.dumps(list(ranked.index[:top]))
        return pd.Series(out, name="branches")


def anomalies(store: Store, period: Period, seed: int = 0, min_count: int = 5) -> pd.DataFrame:
    """Bedrijventerreinen by how unusual their branch mix is at the end of ``period``.

    Returns
    -------
    pd.DataFrame
        ``area_code, establishments, score, unusual, branches`` (over-represented categories,
        JSON list), most unusual first. ``establishments`` is an exact count: pass it through
        :mod:`riskmap.indicators.privacy` before showing it.
    """
    counts = branch_mix(store, period)
    model = BranchMixAnomaly(seed=seed).fit(counts)
    frame = pd.DataFrame({"establishments": counts.sum(axis=1), "score": model.scores_,
                          "unusual": model.unusual_,
                          "branches": model.explain(min_count=min_count)})
    log.debug("branch mix of %d bedrijventerreinen in %s: %d unusual", len(frame), period,
             int(frame["unusual"].sum()))
    return frame.rename_axis("area_code").reset_index().sort_values(
        "score", ascending=False, ignore_index=True)
