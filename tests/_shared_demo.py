"""One demo run shared by the pytest-xdist workers of a session.

The controller starts it in its own process when the session begins (``python
tests/_shared_demo.py FOLDER``): it writes the demo's source files first (a few seconds), then
runs the demo, so the workers run tests that need no demo, or only its sources, meanwhile. A
worker that needs either first waits on its file lock, or makes it itself when nobody has.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from filelock import FileLock

from riskmap.demo import run_demo
from riskmap.sources.demo import SEED, build_world, write_sources


def share_sources(shared: Path) -> Path:
    """Write the demo's source files into ``shared/sources`` unless they are there."""
    folder = shared / "sources"
    with FileLock(f"{shared}.sources.lock"):
        if not (shared / "sources.done").exists():
            write_sources(build_world(SEED), folder)
            (shared / "sources.done").touch()
    return folder


def share_demo(shared: Path, sources_first: bool = False) -> Path:
    """Run the demo into ``shared/project`` unless it is there; returns the record of the run
    (period, loads, output paths relative to the project). With ``sources_first``, the demo's
    lock is taken before the sources are written, so no worker starts a second run meanwhile."""
    record = shared / "run.pickle"
    with FileLock(f"{shared}.lock"):
        if sources_first:
            share_sources(shared)
        if not record.exists():
            run = run_demo(shared / "project")
            outputs = {name: path.relative_to(run.project.root)
                       for name, path in run.outputs.items()}
            record.write_bytes(pickle.dumps((run.period, run.loads, outputs)))
    return record


if __name__ == "__main__":
    share_demo(Path(sys.argv[1]), sources_first=True)
