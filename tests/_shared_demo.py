"""One demo run shared by the pytest-xdist workers of a session.

The controller starts it in its own process when the session begins (``python
tests/_shared_demo.py FOLDER``), so the workers run tests that need no demo meanwhile; a worker
that needs the demo first waits on the file lock, or runs the demo itself when nobody has.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from filelock import FileLock

from riskmap.pipeline import run_demo


def share_demo(shared: Path) -> Path:
    """Run the demo into ``shared/project`` unless it is there; returns the record of the run
    (period, loads, output paths relative to the project)."""
    record = shared / "run.pickle"
    with FileLock(f"{shared}.lock"):
        if not record.exists():
            run = run_demo(shared / "project")
            outputs = {name: path.relative_to(run.project.root)
                       for name, path in run.outputs.items()}
            record.write_bytes(pickle.dumps((run.period, run.loads, outputs)))
    return record


if __name__ == "__main__":
    share_demo(Path(sys.argv[1]))
