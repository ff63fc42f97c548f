"""The national loaders before and after a change, in turns (issue 18): the BAG load of the
national test world's addresses into a project with its buurten, and a KvK extract into a
project that has its BAG addresses and registers too.

The sources are those of ``bench/national.py`` (run it first; they are kept in
``bench/.data``). The code of ``--baseline REF`` is unpacked and put first on ``PYTHONPATH``;
before and after take turns, run by run, each load in a fresh interpreter, on a copy of the same
starting store. Each figure comes with the 1-minute load average before it, the interpreter's
own CPU time (forked processes not counted) and its peak RSS. Results go to
``bench/results/loaders.json``.

    .venv/bin/python bench/loaders.py --baseline 9304c8e --establishments 3000000 --runs 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from speed import environment, unpack  # noqa: E402 - a sibling script

RESULTS = HERE / "results" / "loaders.json"
DATA = HERE / ".data"

# One load in a fresh interpreter: prints wall s, CPU s, rows kept and peak RSS (GB).
LOAD = """
import json, resource, sys, time
sys.path.insert(0, {bench!r})
from pathlib import Path
import national
from riskmap.config import config_from_mapping
from riskmap.sources import bag, kvk, registers
from riskmap.store import Store
data = json.loads(Path({manifest!r}).read_text())
work = Path({work!r})
config = config_from_mapping({{"gemeente": "GM0363", "boundary_year": national.BOUNDARY_YEAR}},
                             work)
store = Store.open(config.store_path)
started, cpu = time.perf_counter(), time.process_time()
record = {call}
print(json.dumps([round(time.perf_counter() - started, 2), round(time.process_time() - cpu, 2),
                  record.rows_kept, round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                          / 2**20, 2)]))
"""
CALLS = {"BAG": 'bag.load_bag(store, config, data["bag"])',
         "KvK": 'kvk.load_kvk(store, config, data["kvk"][{n!r}])'}
# The starting stores: buurten (and wijken) for the BAG; BAG addresses and registers too for
# the KvK. Made once with the code of this checkout.
SETUP = """
import json, sys
sys.path.insert(0, {bench!r})
from pathlib import Path
import national
from riskmap.sources import bag, registers
data = json.loads(Path({manifest!r}).read_text())
store, config = national.new_project(Path({work!r}))
national.load_areas(store, config, data)
if {full!r}:
    bag.load_bag(store, config, data["bag"])
    for kind, path in data["registers"].items():
        registers.load_register(store, config, kind, path)
store.close()
"""


def _python(code: str, source: Path | None) -> str:
    out = subprocess.run([sys.executable, "-c", code], env=environment(source),
                         capture_output=True, text=True, cwd=tempfile.gettempdir(), check=False)
    if out.returncode:
        raise SystemExit(f"loaders.py: a measured load failed:\n{out.stderr[-3000:]}")
    lines = out.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare with")
    parser.add_argument("--establishments", type=int, default=3_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--data", default=str(DATA), help="where national.py keeps its sources")
    args = parser.parse_args(argv)
    manifests = sorted(Path(args.data).glob("a*/manifest.json"))
    manifest = next((m for m in manifests if str(args.establishments) in
                     json.loads(m.read_text())["kvk"]), None)
    if manifest is None:
        raise SystemExit(f"loaders.py: no national sources with {args.establishments:,} "
                         f"establishments in {args.data}; run bench/national.py first")
    work = Path(tempfile.mkdtemp(prefix="riskmap-loaders-"))
    try:
        before = unpack(args.baseline, work / "before")
        starts = {}
        for name, full in (("BAG", False), ("KvK", True)):
            starts[name] = work / f"start-{name}"
            _python(SETUP.format(bench=str(HERE), manifest=str(manifest),
                                 work=str(starts[name]), full=full), None)
        results: dict[str, Any] = {}
        for _ in range(args.runs):
            for name, call in CALLS.items():
                for label, source in (("before", before), ("after", None)):
                    target = work / "run"
                    shutil.rmtree(target, ignore_errors=True)
                    shutil.copytree(starts[name], target)
                    load = round(os.getloadavg()[0], 2)
                    code = LOAD.format(bench=str(HERE), manifest=str(manifest), work=str(target),
                                       call=call.format(n=str(args.establishments)))
                    wall, cpu, kept, peak = json.loads(_python(code, source))
                    results.setdefault(name, {}).setdefault(label, []).append(
                        {"wall_s": wall, "cpu_s": cpu, "rows_kept": kept, "peak_gb": peak,
                         "load_before": load})
                    print(f"{name:4} {label:6} {wall:7.2f} s wall  {cpu:7.2f} s CPU (this "
                          f"process)  {kept:>11,} kept  peak {peak:.2f} GB  load {load}",
                          flush=True)
        summary = {name: {label: min(r["wall_s"] for r in runs) for label, runs in by.items()}
                   for name, by in results.items()}
        for name, best in summary.items():
            print(f"{name}: {best['before']:.2f} s -> {best['after']:.2f} s "
                  f"({best['before'] / best['after']:.2f}x, minimum of {args.runs})")
        RESULTS.write_text(json.dumps({"baseline": args.baseline, "manifest": str(manifest),
                                       "establishments": args.establishments,
                                       "runs": results, "minimum_wall_s": summary}, indent=1),
                           encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
