"""The bias audit's statistics on small known inputs, and on the demo."""

import numpy as np
import pandas as pd
import pytest

from riskmap.demo import DemoRun
from riskmap.errors import StoreError
from riskmap.reports.bias import audit_accuracy, bias_audit, correlations, poorest_fifth
from riskmap.reports.trust import bias_lines
from riskmap.store import Store


def test_correlations_are_spearman_two_sided_with_fdr():
    codes = [f"BU{i:02d}" for i in range(20)]
    rng = np.random.default_rng(3)
    context = pd.DataFrame({"laag_inkomen": np.arange(20.0), "bijstand": rng.random(20)},
                           index=codes)
    rankings = {"score": pd.Series(np.arange(20.0), index=codes),
                "chosen": pd.Series(-np.arange(20.0), index=codes)}
    frame = correlations(rankings, context).set_index(["ranking", "variable"])
    assert frame.loc[("score", "laag_inkomen"), "rho"] == pytest.approx(1.0)
    assert frame.loc[("chosen", "laag_inkomen"), "rho"] == pytest.approx(-1.0)
    assert (frame["q"] >= frame["p"]).all() and len(frame) == 4


def test_the_poorest_fifth_is_the_top_fifth_of_low_income():
    context = pd.DataFrame({"laag_inkomen": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, np.nan]},
                           index=list("ABCDEFGHIJK"))
    assert poorest_fifth(context) == {"I", "J"}
    assert poorest_fifth(pd.DataFrame({"bijstand": [5.0, 1.0]}, index=["X", "Y"])) == {"X"}


def test_demo_bias_audit_has_every_part(demo_run: DemoRun):
    project = demo_run.project
    with Store.open(project.config.store_path, read_only=True) as store:
        audit = bias_audit(store, project.catalogue(), project.config, demo_run.period)
    print("\n" + audit.correlations.round(3).to_string() + "\n" + audit.poorest.to_string()
          + "\n" + str(audit.variant) + "\n" + audit.accuracy.round(3).to_string())
    assert set(audit.correlations["variable"]) == {"laag_inkomen", "bijstand", "buiten_europa"}
    assert set(audit.correlations["ranking"]) == {"score", "chosen", "variant"}
    assert set(audit.poorest["what"]) == {"targets", "targets_score", "targets_variant",
                                          "findings", "establishments", "buurten"}
    assert audit.poorest["share"].between(0, 1).all()
    assert 0 <= audit.variant["cells_changed"] <= audit.variant["cells_selected"]
    lines = bias_lines(audit, project.config["privacy.min_count"])
    assert any("Armste vijfde" in line for line in lines)
    assert any("Zonder het thema kwetsbaarheid" in line for line in lines)


def test_the_backtest_computed_apart_is_the_audits_own(demo_run: DemoRun):
    """``riskmap kwartaal`` computes the audit's backtest beside the rest of it (in the
    process of the hotspots): the same audit as computed in one go; without one there, it is
    computed here."""
    project, period = demo_run.project, demo_run.period
    catalogue, config = project.catalogue(), project.config
    with Store.open(config.store_path, read_only=True) as store:
        whole = bias_audit(store, catalogue, config, period)
        apart = audit_accuracy(store, catalogue, config, period)
        given = bias_audit(store, catalogue, config, period, accuracy=lambda: apart)
        missing = bias_audit(store, catalogue, config, period, accuracy=lambda: None)
    assert len(whole.accuracy) > 0
    for audit in (given, missing):
        pd.testing.assert_frame_equal(audit.accuracy, whole.accuracy, check_exact=True)
        pd.testing.assert_frame_equal(audit.poorest, whole.poorest, check_exact=True)
        assert audit.variant == whole.variant


def test_the_bias_audit_of_a_quarter_not_built_says_so(demo_run: DemoRun):
    project = demo_run.project
    unbuilt = demo_run.period - 12
    with Store.open(project.config.store_path, read_only=True) as store, \
            pytest.raises(StoreError, match=f"{unbuilt} is niet berekend"):
        bias_audit(store, project.catalogue(), project.config, unbuilt)
