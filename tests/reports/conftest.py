"""Fixtures for map, report and target-list tests: the demo's outputs and writable copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from planting import plant_patterns

from riskmap.config import CONFIG_NAME, KEY_NAME, STORE_NAME
from riskmap.demo import DemoRun
from riskmap.project import Project


@pytest.fixture(scope="session")
def demo_output(demo_run: DemoRun) -> Path:
    """The output folder of the demo's last quarter."""
    return demo_run.project.output_dir / str(demo_run.period)


@pytest.fixture
def project_copy(demo_run: DemoRun, tmp_path: Path) -> Project:
    """A copy of the demo project (config, key, store) that a test may change."""
    root = tmp_path / "kopie"
    root.mkdir()
    for name in (CONFIG_NAME, KEY_NAME, STORE_NAME):
        shutil.copy2(demo_run.project.root / name, root / name)
    return Project(root)


@pytest.fixture
def planted(project_copy: Project, demo_run: DemoRun) -> list[str]:
    """Gi* hotspots, emerging hotspots and predictions stored in ``project_copy`` as the models
    would store them; returns the codes of the planted hotspots."""
    return plant_patterns(project_copy, str(demo_run.period))
