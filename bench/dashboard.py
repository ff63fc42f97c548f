"""Dashboard benchmark: file size and time to open (load to interactive) in headless Chromium.

Two worlds:

- **demo**: Havenwaard (``riskmap demo``, 4 quarters), or an existing demo project (``--demo``);
- **national**: the 10,416 real 2014 buurten of ``../shared/realdata`` (a synthetic grid of the
  same size where that is absent) with synthetic sources (``_synthetic``; smaller than
  ``national.py``'s, since the dashboard's size depends on areas and quarters, not on the
  number of establishments), 4 quarters built with the real pipeline, Gi* per quarter and
  emerging hotspots; CBS rows of every gemeente from the real 2024 figures for the comparison.

"Interactive" is the moment the page script has drawn the map, the theme page and its chart
and set ``window.rmDashboard.ready``; it is measured from navigation start in Chromium
(``performance.now()``), with every network request aborted. Also measured: the time from a
click on an area to its drawn profile. Targets (issue 15): national file under 30 MB,
interactive within 3 s. Prints figures with the load average; writes
``bench/results/dashboard-latest.json``.

    python bench/dashboard.py                 # demo and national
    python bench/dashboard.py --only demo     # or: --only national
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _synthetic
import national

from riskmap.indicators.build import build_period
from riskmap.indicators.catalogue import load_catalogue
from riskmap.models.runs import run_emerging, run_hotspots
from riskmap.periods import Period, quarters
from riskmap.sources import bag, kvk, registers
from riskmap.store import LoadRecord

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DATA = HERE / ".data" / "dashboard"
QUARTERS = quarters(Period(2024, 1), Period(2024, 4))
TARGETS = {"size_mb": 30.0, "interactive_s": 3.0}
SIZES = {"establishments": 300_000, "addresses": 1_000_000, "events": 100_000}
READY = "window.rmDashboard && window.rmDashboard.ready"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` shows them."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def open_in_chromium(path: Path, runs: int = 3) -> dict[str, Any]:
    """Median seconds from navigation start to interactive, and from a click to a profile."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    interactive, profile, attempted = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=national.CHROMIUM,
                                     args=national.CHROMIUM_FLAGS)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
                ("file:", "data:", "about:")) else (attempted.append(route.request.url),
                                                    route.abort()))
            page.goto(path.as_uri(), wait_until="commit", timeout=180_000)
            page.wait_for_function(READY, timeout=180_000, polling=20)
            interactive.append(page.evaluate("window.rmDashboard.readyAt") / 1000)
            started = time.perf_counter()
            page.evaluate("""() => { const d = window.rmDashboard;
                const code = d.geo('buurt').codes[Math.floor(d.geo('buurt').codes.length / 2)];
                d.focusArea(d.findArea(code)); }""")
            page.wait_for_selector("#rm-profile:not([hidden]) #rm-profile-title")
            profile.append(time.perf_counter() - started)
            page.close()
        browser.close()
    return {"interactive_s": round(sorted(interactive)[len(interactive) // 2], 2),
            "interactive_all_s": [round(v, 2) for v in interactive],
            "area_to_profile_s": round(sorted(profile)[len(profile) // 2], 2),
            "network_requests": len(attempted)}


def embedded_mb(path: Path) -> dict[str, float]:
    """Megabytes of the file by part: scripts (libraries and page), areas, quarters."""
    text = path.read_text(encoding="utf-8")
    parts: dict[str, float] = {}
    for name, body in re.findall(r'<script type="application/json" id="rm-([a-z]+)[^"]*">(.*?)'
                                 r"</script>", text, re.DOTALL):
        parts[name] = parts.get(name, 0) + len(body.encode()) / 1024**2
    parts["other (libraries, page)"] = path.stat().st_size / 1024**2 - sum(parts.values())
    return {k: round(v, 2) for k, v in parts.items()}


def measure(name: str, path: Path, written_s: float) -> dict[str, Any]:
    """Size and opening times of one dashboard, printed and returned."""
    size_mb = path.stat().st_size / 1024**2
    opened = open_in_chromium(path)
    row = {"world": name, "path": str(path), "size_mb": round(size_mb, 2),
           "parts_mb": embedded_mb(path), "write_s": round(written_s, 1), **opened,
           "load_average": load_average()}
    print(f"{name}: {size_mb:.1f} MB ({row['parts_mb']}), written in {written_s:.1f} s; "
          f"interactive after {opened['interactive_s']:.2f} s (runs {opened['interactive_all_s']}), "
          f"click to profile {opened['area_to_profile_s']:.2f} s, "
          f"{opened['network_requests']} network requests; load average {row['load_average']}",
          flush=True)
    return row


def demo(folder: Path | None) -> dict[str, Any]:
    """The demo's dashboard (running the demo first unless ``folder`` holds one)."""
    from riskmap.demo import run_demo  # noqa: PLC0415
    from riskmap.project import Project  # noqa: PLC0415

    project = Project(folder) if folder else run_demo(DATA / "demo").project
    started = time.perf_counter()
    path = project.dashboard()
    return measure("demo", path, time.perf_counter() - started)


def gemeente_rows(store: Any) -> int:
    """The real 2024 CBS figures of every gemeente (for the similar-gemeenten comparison)."""
    source = _synthetic.REALDATA / "cbs_85984NED_gm_wk_2024.json"
    if not source.is_file():
        return 0
    real = json.loads(source.read_text(encoding="utf-8"))
    rows = [(code, 2024, re.sub(r"_\d+$", "", key), float(value), "ok", "85984NED")
            for code, values in real.items() if code.startswith("GM")
            for key, value in values.items() if value is not None]
    frame = pd.DataFrame(rows, columns=["area_code", "year", "variable", "value", "status",
                                        "table_id"])
    store.write_load(LoadRecord("cbs", "85984NED:2024:gemeenten", api_table="85984NED",
                                rows_read=len(real), rows_kept=len(frame)),
                     {"cbs_values": frame})
    return len(frame)


def national_world(work: Path) -> Path:
    """A project on every real buurt with 4 built quarters (kept in ``bench/.data``, reused
    when it is there); returns its folder."""
    store_path = work / "riskmap.duckdb"
    if store_path.is_file() and (work / "riskmap.yaml").is_file():
        from riskmap.store import Store  # noqa: PLC0415

        with Store.open(store_path, read_only=True) as store:
            built = store.scalar("SELECT count(DISTINCT period) FROM builds")
        if built == len(QUARTERS):
            print(f"national world: reusing {work}", flush=True)
            return work
    data = _synthetic.generate(DATA / "sources", [SIZES["establishments"]], SIZES["addresses"],
                               SIZES["events"]) if not (DATA / "sources" / "manifest.json").is_file() \
        else json.loads((DATA / "sources" / "manifest.json").read_text(encoding="utf-8"))
    (DATA / "sources" / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    store, config = national.new_project(work)
    (work / "riskmap.yaml").write_text(f"gemeente: {config.gemeente}\nnaam: Nederland (bench)\n"
                                       f"boundary_year: {national.BOUNDARY_YEAR}\n", "utf-8")
    started = time.perf_counter()
    national.load_areas(store, config, data)
    national.load_cbs_fixture(store)
    gemeente_rows(store)
    bag.load_bag(store, config, data["bag"])
    for kind, path in data["registers"].items():
        registers.load_register(store, config, kind, path)
    kvk.load_kvk(store, config, data["kvk"][str(SIZES["establishments"])])
    catalogue = load_catalogue()
    for period in QUARTERS:
        build_period(store, config, catalogue, period)
        run_hotspots(store, config, period, level="buurt", method="gi_star")
    run_emerging(store, config, None, None, None, "buurt", 0.05)
    store.close()
    print(f"national world: {len(QUARTERS)} quarters built in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return work


def national_dashboard(work: Path) -> dict[str, Any]:
    """The national dashboard, written and measured."""
    from riskmap.project import Project  # noqa: PLC0415

    project = Project(national_world(work))
    started = time.perf_counter()
    path = project.dashboard()
    return measure("national", path, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    """Measure the chosen worlds, print the figures and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["demo", "national"])
    parser.add_argument("--demo", type=Path, help="an existing demo project to reuse")
    args = parser.parse_args(argv)
    rows = []
    if args.only in (None, "demo"):
        rows.append(demo(args.demo))
    if args.only in (None, "national"):
        rows.append(national_dashboard(DATA / "national"))
    latest = RESULTS / "dashboard-latest.json"
    if args.only and latest.is_file():  # keep the other world's figures of an earlier run
        earlier = json.loads(latest.read_text(encoding="utf-8"))["rows"]
        rows += [r for r in earlier if r["world"] != args.only]
    national_row = next((r for r in rows if r["world"] == "national"), None)
    met = {k: national_row[k] < v for k, v in TARGETS.items()} if national_row else {}
    report = {"when": datetime.now().isoformat(timespec="seconds"),
              "command": " ".join(["python", "bench/dashboard.py", *(argv or sys.argv[1:])]),
              "machine": national.machine(), "rows": rows, "targets": TARGETS, "met": met}
    RESULTS.mkdir(parents=True, exist_ok=True)
    latest.write_text(json.dumps(report, indent=1), "utf-8")
    if met:
        print("targets: " + ", ".join(f"{k} < {TARGETS[k]}: {'met' if ok else 'NOT met'}"
                                      for k, ok in met.items()))
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
