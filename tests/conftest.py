"""Shared fixtures: the demo run (once per session), fresh projects, real reference data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from riskmap.pipeline import DemoRun, run_demo
from riskmap.project import Project

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The whole demo pipeline, run once into a temporary folder."""
    return run_demo(tmp_path_factory.mktemp("demo") / "project")


@pytest.fixture(scope="session")
def demo_sources(demo_run: DemoRun) -> Path:
    """The demo's source files in the real formats."""
    return demo_run.project.root / "sources"


@pytest.fixture
def project(tmp_path: Path, demo_sources: Path) -> Project:
    """A fresh Havenwaard project with boundaries and bedrijventerreinen loaded."""
    shutil.copytree(demo_sources / "cbs", tmp_path / "p" / "sources" / "cbs")
    project = Project.init(tmp_path / "p", "GM9999", 2024, naam="Havenwaard",
                           **{"paths.cache": "sources"})
    project.load_boundaries(demo_sources / "wijkenbuurten_2024.gpkg")
    project.load_bedrijventerreinen(demo_sources / "ibis_bedrijventerreinen.gpkg")
    return project


@pytest.fixture
def bare_project(tmp_path: Path) -> Project:
    """A project without boundaries: enough for files refused before any row is placed."""
    return Project.init(tmp_path / "bare", "GM9999", 2024)


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared real CBS data; tests skip (with the reason) where it is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real reference data not found at {REALDATA}")
    return REALDATA
