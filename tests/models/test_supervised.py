"""The hit-rate model on synthetic controles with a known signal."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from riskmap.errors import InputError
from riskmap.models.supervised import NEUTRAL, HitRateModel


def controles(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(rng.random((n, 4)), columns=["signal", "noise_a", "noise_b", "gap"])
    features.loc[rng.random(n) < 0.1, "gap"] = np.nan
    chance = 0.1 + 0.7 * features["signal"]
    found = pd.Series(rng.random(n) < chance)
    groups = pd.Series(rng.integers(0, 8, n))  # eight "wijken"
    return features, found, groups


def test_model_learns_the_signal_and_is_calibrated():
    features, found, groups = controles()
    model = HitRateModel(seed=1).fit(features, found, groups)
    assert model.cv_auc_ > 0.7
    assert model.coefficients_.idxmax() == "signal"
    test, truth, _ = controles(4000, seed=9)
    chance = model.predict_proba(test)
    assert chance.between(0, 1).all()
    # calibration: within deciles of predicted chance the observed share is close to the mean
    bins = pd.qcut(chance, 10, labels=False)
    observed = truth.groupby(bins).mean()
    predicted = chance.groupby(bins).mean()
    np.testing.assert_allclose(observed, predicted, atol=0.08)


def test_explanations_name_what_pushes_the_chance_up():
    features, found, groups = controles()
    model = HitRateModel(seed=1).fit(features, found, groups)
    high = pd.DataFrame({"signal": [0.95], "noise_a": [0.5], "noise_b": [0.5], "gap": [0.5]})
    assert json.loads(model.explain(high, top=1).iloc[0]) == ["signal"]
    low = high.assign(signal=0.05)
    assert "signal" not in json.loads(model.explain(low).iloc[0])


def test_model_needs_two_groups_and_two_outcomes():
    features, found, groups = controles(100)
    with pytest.raises(InputError, match=r"minstens 2 groepen \(wijken\); er zijn er 1"):
        HitRateModel().fit(features, found, groups * 0)
    with pytest.raises(InputError, match="elke controle had dezelfde uitkomst"):
        HitRateModel().fit(features, found & False, groups)


def test_the_fit_reaches_the_optimum_of_l_bfgs():
    # the Newton solver finds the optimum the default solver finds (to its tolerance)
    features, found, groups = controles()
    model = HitRateModel().fit(features, found, groups)
    x = model.explainer_[0].transform(features.fillna(NEUTRAL).to_numpy(float))
    reference = LogisticRegression(C=model.strength_, max_iter=10_000, tol=1e-10).fit(x, found)
    np.testing.assert_allclose(model.explainer_[-1].coef_, reference.coef_, rtol=1e-3, atol=1e-4)
