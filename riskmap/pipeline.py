"""End-to-end runs: the demo gemeente from generated sources to outputs."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from riskmap._progress import progress
from riskmap.config import CONFIG_NAME, KEY_NAME, STORE_NAME, load_config
from riskmap.errors import ProjectError
from riskmap.periods import Period, quarters
from riskmap.project import PROJECT_FOLDERS, Project
from riskmap.reports.outputs import write_outputs
from riskmap.sources._demo_world import GEMEENTE, LAST_PERIOD, NAME, YEAR
from riskmap.sources.demo import SEED, build_world, write_sources
from riskmap.store import LoadRecord

log = logging.getLogger(__name__)

REGISTER_KINDS = ("meldingen", "maatregelen", "bibob", "hennep", "controles")
# Quarters built by the demo: the last four have full 12-month windows of register data.
BUILT_QUARTERS = 4
# Controles the demo's target list plans for: half of the demo's 80 controles per quarter.
DEMO_CAPACITY = 40


@dataclass
class DemoRun:
    """What a demo run made: the project, the loads and the output files."""

    project: Project
    period: Period
    loads: list[LoadRecord] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)


def _clear_demo(out: Path) -> None:
    """Remove an earlier demo project in ``out`` (its logs stay); refuse any other project."""
    if not (out / CONFIG_NAME).exists():
        if out.exists() and any(p.name != "logs" for p in out.iterdir()):
            raise ProjectError(f"{out}: folder is not empty and not a demo project; "
                               f"choose another --out")
        return
    if load_config(out).gemeente != GEMEENTE:
        raise ProjectError(f"{out}: holds a real project ({load_config(out).gemeente}); "
                           f"the demo will not overwrite it")
    for name in (CONFIG_NAME, STORE_NAME, f"{STORE_NAME}.wal", KEY_NAME):
        (out / name).unlink(missing_ok=True)
    for folder in PROJECT_FOLDERS:
        if folder != "logs":
            shutil.rmtree(out / folder, ignore_errors=True)


def run_demo(out: str | Path, seed: int = SEED) -> DemoRun:
    """Generate Havenwaard's sources in ``out/sources``, load them with the real loaders, build
    the last quarters, store hotspots (every quarter), emerging hotspots, the track record and
    the rankings' predictions, and write the outputs and the dashboard over all built quarters."""
    out = Path(out)
    _clear_demo(out)
    world = build_world(seed)
    paths = write_sources(world, out / "sources")
    project = Project.init(out, GEMEENTE, YEAR, naam=NAME, **{"paths.cache": "sources"})
    run = DemoRun(project, LAST_PERIOD)
    run.loads += [project.load_boundaries(paths["boundaries"]),
                  project.load_bedrijventerreinen(paths["bedrijventerreinen"]),
                  project.load_cbs(YEAR, offline=True), project.load_police(offline=True),
                  project.load_bag(paths["bag"]),
                  # last year's extract (SBI 2008), then this year's (SBI 2025) replacing it
                  project.load_kvk(paths["kvk_vorig_jaar"]), project.load_kvk(paths["kvk"])]
    run.loads += [project.load_register(kind, paths[kind])
                  for kind in progress(REGISTER_KINDS, "registers laden")]
    built = quarters(LAST_PERIOD - (BUILT_QUARTERS - 1), LAST_PERIOD)
    for period in progress(built, "kwartalen berekenen"):
        project.build(period)
        # every quarter's hotspots, so the dashboard can compare them between quarters
        project.hotspots(period)
    project.emerging_hotspots()
    project.track_record(LAST_PERIOD)
    run.outputs = write_outputs(project, LAST_PERIOD)
    run.outputs.update(project.map(LAST_PERIOD))
    run.outputs.update(project.report(LAST_PERIOD, pdf=True))
    run.outputs.update(project.targets(LAST_PERIOD, capacity=DEMO_CAPACITY))
    run.outputs["dashboard"] = project.dashboard()
    return run
