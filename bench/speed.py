"""Benchmark of the everyday commands (issue 18): ``riskmap --help``, importing riskmap, the demo
end to end, one quarter's build of the demo, and reading a KvK-like CSV against
``pandas.read_csv(engine="pyarrow")``.

With ``--baseline REF`` the same measurements run on the code of git revision ``REF`` (unpacked
into a temporary folder and put first on ``PYTHONPATH``) in the same run, and every figure gets
its before/after ratio; the two take turns, run by run. Each figure is printed with the
1-minute load average before and after it. Results go to ``bench/results/speed.json``.

    .venv/bin/python bench/speed.py --baseline b5b1c88 --rows 3000000
    .venv/bin/python bench/speed.py --baseline 739e10e --skip csv --repeat 5 --long-repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "speed.json"
KVK_HEADER = ("Vestigingsnummer;KvK-nummer;Handelsnaam;SBI hoofdactiviteit;Datum aanvang;"
              "Datum opheffing;Rechtsvorm;Aantal werkzame personen;Postcode;Huisnummer;X;Y")


def load() -> float:
    return os.getloadavg()[0]


def children_cpu() -> float:
    """CPU seconds (user and system) of the ended processes this one started and waited for,
    with the processes they forked and waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, dict[str, Any]]:
    """Minimum and median wall time of ``repeat`` runs of each of ``runs`` (by label), the
    labels taking turns so that a change in the machine's load falls on all of them; with the
    load average around them, and the median CPU time of the runs (all their processes: less
    sensitive than the wall time to other work on the machine, blind to waiting)."""
    before = load()
    times: dict[str, list[float]] = {label: [] for label in runs}
    cpu: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(repeat):
        for label, run in runs.items():
            start, used = time.perf_counter(), children_cpu()
            run()
            times[label].append(time.perf_counter() - start)
            cpu[label].append(children_cpu() - used)
    after = load()
    return {label: {"min_s": round(min(t), 3), "median_s": round(statistics.median(t), 3),
                    "cpu_median_s": round(statistics.median(cpu[label]), 3),
                    "runs": repeat, "load_before": before, "load_after": after}
            for label, t in times.items()}


def environment(source: Path | None) -> dict[str, str]:
    """The environment of a measured process: ``source`` first on the path when given."""
    return {**os.environ, "PYTHONPATH": str(source)} if source else dict(os.environ)


def python(code: str, source: Path | None, *args: str) -> Callable[[], object]:
    """Run ``code`` in a new interpreter, outside the checkout (whose ``riskmap/`` would
    otherwise come first on the path and hide ``source``)."""
    return lambda: subprocess.run([sys.executable, "-c", code, *args], env=environment(source),
                                  check=True, capture_output=True, cwd=tempfile.gettempdir())


# as the `riskmap` command runs (riskmap.cli.run; main in code from before it existed)
CLI = "import sys; from riskmap import cli; sys.argv[0] = 'riskmap'; getattr(cli, 'run', cli.main)()"


def riskmap(source: Path | None, *args: str) -> Callable[[], object]:
    run = python(CLI, source, *args)

    def call() -> object:
        try:
            return run()
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(exc.stderr.decode()[-2000:]) from exc
    return call


def command_figures(sources: dict[str, Path | None], work: Path, repeat: int,
                    long_repeat: int) -> dict[str, dict[str, Any]]:
    """``--help``, imports (``repeat`` times), the demo and one quarter's build (``long_repeat``
    times) with the code of each source, the sources taking turns; figures by source label."""
    def demo(label: str, source: Path | None) -> Callable[[], object]:
        run = riskmap(source, "demo", "--out", str(work / label / "demo"))

        def fresh() -> object:
            shutil.rmtree(work / label / "demo", ignore_errors=True)
            return run()
        return fresh

    measures: list[tuple[str, Callable[[str, Path | None], Callable[[], object]], int]] = [
        ("riskmap --help", lambda _, source: riskmap(source, "--help"), repeat),
        ("import riskmap.cli", lambda _, source: python("import riskmap.cli", source), repeat),
        ("import riskmap.project", lambda _, source: python("import riskmap.project", source),
         repeat),
        ("riskmap demo (end to end)", demo, long_repeat),
        ("riskmap build --period 2025Q3 (demo)", lambda label, source: riskmap(
            source, "build", "--period", "2025Q3", "-p", str(work / label / "demo")), long_repeat),
    ]
    figures: dict[str, dict[str, Any]] = {label: {} for label in sources}
    for name, make, times in measures:
        found = timed({label: make(label, source) for label, source in sources.items()}, times)
        for label, figure in found.items():
            figures[label][name] = figure
        print(json.dumps({name: found}), flush=True)
    return figures


def write_kvk_csv(path: Path, rows: int) -> None:
    """A KvK-like extract: ``;``, cp1252, decimal commas in X/Y, dd-mm-jjjj dates, names."""
    import duckdb  # noqa: PLC0415 - the command figures above must not pay for it

    with duckdb.connect() as con:
        con.execute(f"""COPY (SELECT 100000000000 + i * 7 AS v, 10000000 + i % 89999999 AS k,
            'Bedrijf ' || i || ' B.V.' AS naam, lpad(CAST(i % 9999 AS VARCHAR), 4, '0') AS sbi,
            strftime(DATE '1990-01-01' + CAST(i % 12000 AS INTEGER), '%d-%m-%Y') AS aanvang,
            CASE WHEN i % 5 = 0 THEN strftime(DATE '2020-01-01' + CAST(i % 1500 AS INTEGER),
                 '%d-%m-%Y') ELSE '' END AS opheffing,
            'Besloten Vennootschap' AS vorm, CAST(i % 40 AS VARCHAR) AS staff,
            CAST(1000 + i % 8999 AS VARCHAR) || 'AB' AS pc, CAST(i % 200 + 1 AS VARCHAR) AS nr,
            replace(CAST(round(13000 + (i * 37) % 260000 + 0.25, 2) AS VARCHAR), '.', ',') AS x,
            replace(CAST(round(306000 + (i * 53) % 300000 + 0.5, 2) AS VARCHAR), '.', ',') AS y
            FROM range({rows}) t(i)) TO '{path}' (FORMAT csv, HEADER false, DELIMITER ';',
            QUOTE '')""")
    # one name with the euro sign, which only cp1252 (not latin-1) has, at 0x80
    body = path.read_bytes().replace(b"Bedrijf 0 B.V.", "Caf\u00e9 \u20ac B.V.".encode("cp1252"), 1)
    path.write_bytes((KVK_HEADER + "\r\n").encode() + body)


# each reader runs in its own process; the time is of the read alone (imports done before)
READERS = {
    "riskmap read_table": ("from riskmap.sources._io import read_table as read",
                           "read(sys.argv[1])"),
    "pandas read_csv(engine='pyarrow')": (
        "import pandas as pd", "pd.read_csv(sys.argv[1], sep=';', encoding='cp1252', dtype=str, "
                               "engine='pyarrow')"),
}
TIMER = ("import sys, time, resource\n{setup}\nstart = time.perf_counter()\nframe = {call}\n"
         "print(len(frame), time.perf_counter() - start, "
         "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def csv_figures(sources: dict[str, Path | None], path: Path, repeat: int) -> dict[str, Any]:
    """Read time (minimum and median of ``repeat`` processes) and the process's peak RSS; the
    readers take turns, so that a change in the machine's load falls on all of them."""
    readers = [(f"{name} ({label})" if name.startswith("riskmap") else name, source, setup, call)
               for label, source in sources.items()
               for name, (setup, call) in READERS.items()
               if not (name.startswith("pandas") and label != "after")]
    runs: dict[str, list[tuple[int, float, float]]] = {name: [] for name, *_ in readers}
    before = load()
    for _ in range(repeat):
        for name, source, setup, call in readers:
            out = subprocess.run([sys.executable, "-c", TIMER.format(setup=setup, call=call),
                                  str(path)], env=environment(source), check=True,
                                 capture_output=True, text=True,
                                 cwd=tempfile.gettempdir()).stdout.split()
            runs[name].append((int(out[0]), float(out[1]), int(out[2]) * 1024 / 1024**3))
    after = load()
    return {name: {"rows": found[0][0], "min_s": round(min(t for _, t, _ in found), 3),
                   "median_s": round(statistics.median(t for _, t, _ in found), 3),
                   "peak_gb": round(max(p for _, _, p in found), 2), "runs": repeat,
                   "load_before": before, "load_after": after}
            for name, found in runs.items()}


def unpack(ref: str, into: Path) -> Path:
    """The package of git revision ``ref``, unpacked (``riskmap/`` and ``config/``)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "riskmap", "config"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


# issue 18's targets of the everyday commands (the best of the runs of the code measured)
TARGETS = {"riskmap --help": 0.5, "riskmap demo (end to end)": 12.0,
           "riskmap build --period 2025Q3 (demo)": 3.0}
CSV_TARGET = 1.5  # riskmap's reading of the CSV, as a multiple of pandas' with pyarrow
CSV_AFTER = "riskmap read_table (after)"


def targets(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each of issue 18's targets the report holds a figure for (the code measured, ``after``):
    the limit, the figure (the minimum of the runs; the CSV as a ratio to pandas) and whether
    it is met."""
    found = {name: (limit, report["after"][name]["min_s"]) for name, limit in TARGETS.items()
             if name in report.get("after", {})}  # name: (limit, figure)
    ratio = report.get("csv_ratio_to_pandas_pyarrow", {}).get(CSV_AFTER)
    if ratio is not None:
        found["csv / pandas (pyarrow)"] = (CSV_TARGET, ratio)
    return {name: {"target": limit, "measured": value, "met": value <= limit}
            for name, (limit, value) in found.items()}


def ratios(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    return {k: round(before[k]["min_s"] / after[k]["min_s"], 2) for k in after if k in before}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision to compare with, in the same run")
    parser.add_argument("--rows", type=int, default=3_000_000, help="rows of the KvK-like CSV")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--long-repeat", type=int, default=1,
                        help="runs of the demo and the build (each source in turn)")
    parser.add_argument("--skip", default="", help="comma-separated: commands,csv")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    report: dict[str, Any] = {"cores": os.cpu_count(), "python": sys.version.split()[0],
                              "rows": args.rows, "baseline": args.baseline,
                              "reference_s": [_measure.reference_seconds()]}
    with tempfile.TemporaryDirectory(prefix="riskmap-speed-") as tmp:
        work = Path(tmp)
        sources: dict[str, Path | None] = {"after": None}
        if args.baseline:
            sources = {"before": unpack(args.baseline, work / "before"), "after": None}
        if "commands" not in skip:
            report.update(command_figures(sources, work, args.repeat, args.long_repeat))
            if "before" in report:
                report["ratio_before_over_after"] = ratios(report["before"], report["after"])
        if "csv" not in skip:
            path = work / "kvk.csv"
            write_kvk_csv(path, args.rows)
            report["csv_mb"] = round(path.stat().st_size / 1024**2, 1)
            report["csv"] = csv_figures(sources, path, args.repeat)
            reference = report["csv"]["pandas read_csv(engine='pyarrow')"]["min_s"]
            report["csv_ratio_to_pandas_pyarrow"] = {
                k: round(v["min_s"] / reference, 2) for k, v in report["csv"].items()}
    report["reference_s"].append(_measure.reference_seconds())  # the machine's speed, after
    if RESULTS.exists():  # a part skipped keeps its figures from the last run
        report = {**json.loads(RESULTS.read_text(encoding="utf-8")), **report}
    report["targets"] = targets(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report, indent=1))
    print("\ntargets (issue 18; the best run of the code measured):")
    for name, t in report["targets"].items():
        print(f"  {name:<40} {t['measured']:>8.2f}  (at most {t['target']:g}) "
              f"{'met' if t['met'] else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
