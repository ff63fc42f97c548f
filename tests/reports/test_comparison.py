"""Similar gemeenten: by CBS urbanity class and size, or by density and size on real CBS rows."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from riskmap.periods import Period
from riskmap.reports.comparison import gemeente_figures, similar_gemeenten
from riskmap.store import LoadRecord, Store


@pytest.fixture
def real_store(tmp_path, realdata):
    """A store with the real 2024 CBS rows of all 342 gemeenten (no urbanity class in them)."""
    real = json.loads((realdata / "cbs_85984NED_gm_wk_2024.json").read_text("utf-8"))
    rows = [(code, 2024, re.sub(r"_\d+$", "", key), float(value), "ok", "85984NED")
            for code, values in real.items() if code.startswith("GM")
            for key, value in values.items() if value is not None]
    frame = pd.DataFrame(rows, columns=["area_code", "year", "variable", "value", "status",
                                        "table_id"])
    store = Store.open(tmp_path / "riskmap.duckdb", create=True)
    store.write_load(LoadRecord("cbs", "85984NED:2024"), {"cbs_values": frame})
    yield store
    store.close()


def test_real_gemeenten_without_urbanity_are_matched_on_size_and_density(real_store):
    figures, year = gemeente_figures(real_store, Period(2025, 3))
    assert year == 2024 and len(figures) == 342
    similar, basis = similar_gemeenten(figures, "GM0034")
    own = figures.set_index("code").loc["GM0034"]
    assert len(similar) == 10 and "GM0034" not in set(similar["code"])
    assert "bevolkingsdichtheid" in basis
    ratio = similar["inhabitants"] / own["inhabitants"]
    assert ratio.between(1 / 3, 3).all()
    # nearer than the typical gemeente on both measures
    others = figures[figures["code"] != "GM0034"]
    far = np.abs(np.log(others["inhabitants"] / own["inhabitants"])).median()
    assert np.abs(np.log(ratio)).max() < far


def test_the_urbanity_class_is_kept_when_cbs_publishes_it():
    figures = pd.DataFrame({
        "code": [f"GM{i:04d}" for i in range(30)], "name": [f"G{i}" for i in range(30)],
        "inhabitants": np.linspace(10_000, 300_000, 30), "urbanity": [1, 2, 3] * 10,
        "density": 1_000.0})
    similar, basis = similar_gemeenten(figures, "GM0004", k=5)
    assert set(similar["urbanity"]) == {2} and "GM0004" not in set(similar["code"])
    expected = figures[(figures["urbanity"] == 2) & (figures["code"] != "GM0004")].assign(
        d=lambda f: np.abs(np.log(f["inhabitants"] / figures.loc[4, "inhabitants"])))
    assert list(similar["code"]) == list(expected.nsmallest(5, "d")["code"])
    assert "stedelijkheid" in basis


def test_no_group_without_own_figures_or_enough_others():
    figures = pd.DataFrame({"code": ["GM0001", "GM0002"], "name": ["a", "b"],
                            "inhabitants": [1_000.0, 2_000.0], "urbanity": [1, 1],
                            "density": [1.0, 2.0]})
    assert similar_gemeenten(figures, "GM0003")[0].empty
    chosen, basis = similar_gemeenten(figures, "GM0001")
    assert chosen.empty and "minder dan 3" in basis
