"""A dashboard with a third, made-up analysis-area type: winkelgebieden, from configuration only.

A copy of the demo project gets a temporary ``area_types.yaml`` (the shipped types plus
``winkelgebied``) and a small polygon layer loaded with the ordinary load path; its dashboard is
written once per session. The configuration is restored as soon as the file is written: the page
must carry everything it needs about the type in its own data.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pytest
import yaml

from riskmap import areatypes
from riskmap.config import CONFIG_NAME, KEY_NAME, STORE_NAME
from riskmap.demo import DemoRun
from riskmap.project import Project
from riskmap.sbi import config_file

WINKELGEBIED = {"label": "Winkelgebied", "meervoud": "Winkelgebieden", "prefix": "WG",
                "bron": "winkelgebieden", "id_veld": "id", "naam_veld": "naam",
                "themas": ["criminogene_branches"],
                "toelichting": "Eigen laag van winkelgebieden (proef met een derde soort)."}


@dataclass
class ThirdType:
    """The copy's dashboard and the winkelgebieden loaded into it (code -> name)."""

    dashboard: Path
    areas: dict[str, str]


def _winkelgebieden(project: Project, path: Path) -> dict[str, str]:
    """Two round winkelgebieden of 150 m around points inside the first two buurten, as a
    GeoPackage with the type's default fields (``id``, ``naam``)."""
    with project.store(read_only=True) as store:
        areas = store.areas()
    buurten = areas[areas["level"] == "buurt"].sort_values("code").head(2)
    names = ["Winkelhart Noord", "Woonboulevard Zuid"]
    layer = gpd.GeoDataFrame({"id": [1, 2], "naam": names},
                             geometry=buurten.geometry.representative_point().buffer(150).values,
                             crs=areas.crs)
    layer.to_file(path, driver="GPKG", layer="winkelgebieden")
    return {f"WG{i}": name for i, name in zip(layer["id"], names, strict=True)}


@pytest.fixture(scope="session")
def third_type(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThirdType]:
    root = tmp_path_factory.mktemp("winkelgebieden")
    project_root = root / "kopie"
    project_root.mkdir()
    for name in (CONFIG_NAME, KEY_NAME, STORE_NAME):
        shutil.copy2(demo_run.project.root / name, project_root / name)
    shipped = yaml.safe_load(config_file("area_types.yaml").read_text(encoding="utf-8"))
    shipped["area_types"]["winkelgebied"] = WINKELGEBIED
    own = root / "area_types.yaml"
    own.write_text(yaml.safe_dump(shipped, allow_unicode=True), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(areatypes, "config_file", lambda name: own)
        areatypes.area_types.cache_clear()
        try:
            project = Project(project_root)
            loaded = _winkelgebieden(project, root / "winkelgebieden.gpkg")
            project.load_areas("winkelgebied", root / "winkelgebieden.gpkg")
            dashboard = project.dashboard(root / "dashboard.html")
        finally:
            areatypes.area_types.cache_clear()
    yield ThirdType(dashboard, loaded)
    areatypes.area_types.cache_clear()
