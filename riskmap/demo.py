"""The demo gemeente Havenwaard from its sources to every output (``riskmap demo``).

The sources are generated (:mod:`riskmap.sources.demo`) in forked processes while this one
creates the project; then the real loaders read the files in a forked process while this one
imports the rest of riskmap (the models, maps and reports the quarter needs), and
:func:`riskmap.pipeline.run_quarter` runs the last quarter, building the three before it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from riskmap._forked import settled, started
from riskmap._progress import progress
from riskmap.config import CONFIG_NAME, KEY_NAME, STORE_NAME, load_config
from riskmap.errors import ProjectError
from riskmap.periods import Period
from riskmap.project import PROJECT_FOLDERS, Project
from riskmap.sources._demo_world import GEMEENTE, LAST_PERIOD, NAME, YEAR
from riskmap.sources.demo import SEED, build_world, write_sources
from riskmap.store import LoadRecord

if TYPE_CHECKING:
    from riskmap.pipeline import QuarterRun

REGISTER_KINDS = ("meldingen", "maatregelen", "bibob", "hennep", "controles")
# Quarters built by the demo: the last four have full 12-month windows of register data.
BUILT_QUARTERS = 4


@dataclass
class DemoRun:
    """What a demo run made: the project, the loads and the output files."""

    project: Project
    period: Period
    loads: list[LoadRecord] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)
    quarter: QuarterRun | None = None


def _clear_demo(out: Path) -> None:
    """Remove an earlier demo project in ``out`` (its logs stay); refuse any other project."""
    if not (out / CONFIG_NAME).exists():
        if out.exists() and any(p.name != "logs" for p in out.iterdir()):
            raise ProjectError(f"{out}: map is niet leeg en geen demoproject; kies een andere "
                               f"--out")
        return
    if load_config(out).gemeente != GEMEENTE:
        raise ProjectError(f"{out}: bevat een echt project ({load_config(out).gemeente}); de "
                           f"demo overschrijft het niet")
    for name in (CONFIG_NAME, STORE_NAME, f"{STORE_NAME}.wal", KEY_NAME):
        (out / name).unlink(missing_ok=True)
    for folder in PROJECT_FOLDERS:
        if folder != "logs":
            shutil.rmtree(out / folder, ignore_errors=True)


def run_demo(out: str | Path, seed: int = SEED) -> DemoRun:
    """Generate Havenwaard's sources in ``out/sources``, load them with the real loaders and
    run the last quarter with :func:`riskmap.pipeline.run_quarter` (building the three quarters
    before it)."""
    with settled():
        return _run_demo(Path(out), seed)


def _sources(folder: Path, seed: int) -> dict[str, Path]:
    return write_sources(build_world(seed), folder)


def _loads(project: Project, paths: dict[str, Path]) -> list[LoadRecord]:
    """Load every source with the real loaders, in one session (one store for all)."""
    with project.session():
        loads = [project.load_boundaries(paths["boundaries"]),
                 project.load_bedrijventerreinen(paths["bedrijventerreinen"]),
                 project.load_areas("vakantiepark", paths["vakantieparken"]),
                 project.load_cbs(YEAR, offline=True), project.load_police(offline=True),
                 project.load_bag(paths["bag"]),
                 # last year's extract (SBI 2008), then this year's (SBI 2025) replacing it
                 project.load_kvk(paths["kvk_vorig_jaar"]), project.load_kvk(paths["kvk"])]
        return loads + [project.load_register(kind, paths[kind])
                        for kind in progress(REGISTER_KINDS, "registers laden")]


def _run_demo(out: Path, seed: int) -> DemoRun:
    _clear_demo(out)
    # this process imports what the quarter's stages and writers use (~2.5 s) while the
    # sources are made and then loaded in forked processes: the rankings' models
    # (scikit-learn, 0.85 s) while the sources are made (1.3 s, both cores busy part of the
    # time), the rest (1.4 s) while the sources are loaded (1.8 s, one core); the whole
    # track record there made the loads wait 0.3 s for the imports, all of it after made
    # the quarters wait 0.5 s
    with started([partial(_sources, out / "sources", seed)], background=True) as made:
        project = Project.init(out, GEMEENTE, YEAR, naam=NAME, **{"paths.cache": "sources"})
        import riskmap.models.ranking  # noqa: F401, PLC0415
        paths = next(made)
    run = DemoRun(project, LAST_PERIOD)
    with started([partial(_loads, project, paths)], background=True) as loaded:
        from riskmap.pipeline import preload_writers, run_quarter  # noqa: PLC0415
        preload_writers()
        run.loads = next(loaded)
    run.quarter = run_quarter(project, LAST_PERIOD, first=LAST_PERIOD - (BUILT_QUARTERS - 1))
    run.outputs = run.quarter.outputs
    return run
