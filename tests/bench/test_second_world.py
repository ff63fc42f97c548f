"""The second synthetic world on the real buurten of Vlaardingen (``bench/second_world.py``).

Both are slow (``make bench``): the first writes the sources and checks their formats, the
second runs the pipeline and checks coverage, the track record of the ranking used for targets
and the bias audit. Both skip, saying why, where ``../shared/realdata`` is absent.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from riskmap.models.ranking import stored_choice, stored_track_record
from riskmap.reports.bias import bias_audit

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "second_world.py"


@pytest.fixture(scope="module")
def world(realdata: Path) -> ModuleType:
    del realdata  # the module reads it itself
    spec = importlib.util.spec_from_file_location("second_world", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["second_world"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_second_world_sources_are_in_the_real_formats(world: ModuleType, tmp_path: Path):
    paths, hidden = world.write_world(tmp_path / "sources")
    layers = {name for name, _ in pyogrio.list_layers(paths["boundaries"])}
    assert layers == {"gemeenten", "wijken", "buurten"}
    buurten = gpd.read_file(paths["boundaries"], layer="buurten")
    assert len(buurten) == 36 and buurten["buurtcode"].str.startswith("BU0622").all()
    header = paths["kvk"].read_bytes().decode("cp1252").splitlines()[0].split(";")
    assert header[:4] == ["Vestigingsnummer", "KvK-nummer", "Handelsnaam", "SBI hoofdactiviteit"]
    assert (tmp_path / "sources" / "cbs").is_dir()
    controles = pd.read_excel(paths["controles"])
    assert {"Controlenummer", "Datum", "Branche", "Bevinding"} <= set(controles.columns)
    # the hidden risk sits in a few buurten, not in a field around one zone
    risky = hidden.loc[hidden["risk"] > 0.15, "code"]
    assert 3 <= len(risky) <= 8
    touching = buurten.set_index("buurtcode").loc[list(risky)].geometry
    assert not all(touching.iloc[0].distance(g) < 1 for g in touching.iloc[1:])


@pytest.mark.slow
def test_second_world_coverage_track_record_and_bias(world: ModuleType, tmp_path: Path):
    project, _hidden = world.run(tmp_path / "project")
    cover = world.coverage_figures(project)
    relevant = cover[(cover["inhabitants"].fillna(0) > 0) | (cover["establishments"] > 0)]
    assert (relevant["score"].notna() | relevant["coverage_note"].str.startswith("geen score")).all()
    with project.store(read_only=True) as store:
        table = stored_track_record(store, world.LAST)
        choice = stored_choice(store, world.LAST)
        audit = bias_audit(store, project.catalogue(), project.config, world.LAST)
    used = table.pivot(index="period", columns="method", values="auc")[
        [choice.method, "last_quarter", "random"]].dropna()
    assert len(used) >= 3
    assert used[choice.method].mean() > used["last_quarter"].mean() > 0.5
    assert set(audit.correlations["variable"]) == {"laag_inkomen", "bijstand", "buiten_europa"}
    assert audit.poorest.set_index("what").loc["buurten", "count"] >= 5
