"""Branch-mix anomalies of bedrijventerreinen on synthetic counts."""

import json

import numpy as np
import pandas as pd
import pytest

from riskmap.errors import InputError
from riskmap.models.anomaly import BranchMixAnomaly, category_labels


def mixes() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    usual = np.array([40, 30, 20, 10, 5, 5])
    rows = {f"BT{i}": rng.multinomial(200, usual / usual.sum()) for i in range(12)}
    rows["BT_odd"] = np.array([5, 10, 5, 10, 150, 20])  # mostly "opslag"
    return pd.DataFrame(rows, index=["sectie_G", "sectie_C", "sectie_F", "transport",
                                     "opslag", "autobranche"]).T


def test_the_odd_terrein_scores_highest_and_is_explained():
    model = BranchMixAnomaly(seed=1).fit(mixes())
    assert model.scores_.idxmax() == "BT_odd"
    assert model.unusual_["BT_odd"]
    assert json.loads(model.explain().loc["BT_odd"])[0] == "opslag"


def test_explanations_skip_small_counts():
    counts = mixes()
    counts.loc["BT_odd", "autobranche"] = 3  # over-represented, but fewer than 5
    counts.loc[counts.index != "BT_odd", "autobranche"] = 0
    model = BranchMixAnomaly(seed=1).fit(counts)
    assert "autobranche" not in json.loads(model.explain(min_count=5).loc["BT_odd"])


def test_too_few_terreinen_are_refused():
    with pytest.raises(InputError, match="minstens 3 bedrijventerreinen om te vergelijken; er zijn er 2"):
        BranchMixAnomaly().fit(mixes().head(2))


def test_every_category_has_a_dutch_label():
    labels = category_labels()
    assert labels["opslag"] == "Opslag"
    assert labels["sectie_H"].startswith("Overig: Vervoer")
