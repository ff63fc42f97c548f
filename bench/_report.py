"""The printed summary and ``docs/performance.md`` of a national benchmark run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LABELS = {"build_s": "full national build (wall)", "peak_rss_gb": "peak RSS of the build",
          "assign_per_s": "points assigned to areas per second", "map_mb": "national map HTML",
          "render_s": "map rendered by headless Chromium"}
UNITS = {"build_s": "s", "peak_rss_gb": "GB", "assign_per_s": "/s", "map_mb": "MB", "render_s": "s",
         "large_peak_rss_gb": "GB"}
SPEED_LABELS = {"build_s": "build at 3M establishments (wall)",
                "peak_rss_gb": "peak RSS of the build at 3M",
                "large_peak_rss_gb": "peak RSS of the build at 10M"}


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if (isinstance(value, float) and value >= 1000) or isinstance(value, int):
        return f"{value:,.0f}"
    return f"{value:.2f}"


def targets_table(report: dict[str, Any]) -> list[str]:
    """Markdown rows: target, measured, met."""
    lines = ["| target (issue 8) | limit | measured | met |", "|---|---:|---:|:---:|"]
    for key, t in report["targets"].items():
        limit = f"≥ {_fmt(t['target'])}" if key == "assign_per_s" else f"< {_fmt(t['target'])}"
        lines.append(f"| {LABELS[key]} | {limit} {UNITS[key]} | {_fmt(t['measured'])} "
                     f"{UNITS[key]} | {'yes' if t['met'] else '**no**'} |")
    return lines


def speed_targets_table(report: dict[str, Any]) -> list[str]:
    """Markdown rows of issue 18's targets this run measured: target, limit, measured, met."""
    lines = ["| target (issue 18) | limit | measured | met |", "|---|---:|---:|:---:|"]
    for key, t in report.get("speed_targets", {}).items():
        lines.append(f"| {SPEED_LABELS[key]} | ≤ {_fmt(t['target'])} {UNITS[key]} | "
                     f"{_fmt(t['measured'])} {UNITS[key]} | {'yes' if t['met'] else '**no**'} |")
    return lines


def stages_table(report: dict[str, Any]) -> list[str]:
    """Markdown rows: one per stage, with wall time, peak RSS and throughput per size."""
    sizes = [r["establishments"] for r in report["runs"]]
    head = "| stage | " + " | ".join(f"{n / 1e6:g}M: wall s · peak GB · rec/s · µs/rec"
                                      for n in sizes) + " |"
    lines = [head, "|---|" + "---:|" * len(sizes)]
    names = [s["stage"] for s in max(report["runs"], key=lambda r: len(r["stages"]))["stages"]]
    for name in names:
        cells = []
        for run in report["runs"]:
            row = next((s for s in run["stages"] if s["stage"] == name), None)
            if row is None or row.get("skipped"):
                cells.append("not run")
                continue
            rate = f"{_fmt(row.get('per_s'))} · {row.get('us_per_record', '–')}" \
                if row.get("records") else "– · –"
            cells.append(f"{row['wall_s']:.1f} · {row['peak_rss_gb']:.2f} · {rate}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **build total** (stages above the map) | " + " | ".join(
        f"**{r['build_s']:.1f} s** · peak {r['process_peak_rss_gb']:.2f} GB (the largest forked process "
        f"(the suppression's screens), its RSS counting the pages it shares with the build: "
        f"{r.get('children_peak_rss_gb', 0):.2f} GB)" for r in report["runs"])
        + " |")
    return lines


def steps_table(report: dict[str, Any]) -> list[str]:
    """Markdown rows: the inner steps of the loaders in the national run."""
    run = next(r for r in report["runs"] if r["establishments"] == report["national"])
    lines = ["| stage | inner steps (s) |", "|---|---|"]
    for row in run["stages"]:
        if row.get("steps"):
            lines.append(f"| {row['stage']} | " + ", ".join(f"{k} {v:.1f}"
                                                           for k, v in row["steps"].items()) + " |")
    return lines


def linearity(report: dict[str, Any]) -> list[str]:
    """Time per establishment of the KvK load and of the whole build, per size."""
    lines = ["| establishments | KvK load µs/record | build total s | build µs per establishment |",
             "|---:|---:|---:|---:|"]
    for run in report["runs"]:
        kvk = next(s for s in run["stages"] if s["stage"].startswith("load KvK"))
        lines.append(f"| {run['establishments']:,} | {kvk['us_per_record']:.2f} | "
                     f"{run['build_s']:.1f} | {run['build_s'] / run['establishments'] * 1e6:.1f} |")
    return lines


def assignment(report: dict[str, Any]) -> list[str]:
    """The side-by-side assignment figures."""
    a = report["assignment"]
    return [f"- {a['points']:,} points: riskmap `AreaIndex.assign` (buurt, wijk, 100 m and 500 m "
            f"cell codes) {a['riskmap_s']:.2f} s = **{a['riskmap_per_s']:,} points/s** (index built "
            f"in {a['index_build_s']:.2f} s); plain `geopandas.sjoin` (buurt only) "
            f"{a['sjoin_s']:.2f} s = {a['sjoin_per_s']:,} points/s; **ratio {a['ratio']:.1f}×**; "
            f"same buurt for every point: {a['identical_buurten']}; {a['stats']}"]


def load_note(report: dict[str, Any]) -> str:
    """How busy the machine was: other work on the 2 cores inflates wall times."""
    loads = [s["load_avg_1m"] for r in report["runs"] for s in r["stages"] if "load_avg_1m" in s]
    if not loads:
        return ""
    cpus = report["machine"]["cpus"]
    busy = " (other work ran alongside, so wall times are inflated)" if max(loads) > cpus else ""
    reference = report["machine"].get("reference_s")
    both = (f", the compute workload on both cores at once "
            f"{reference[0]['both_cores_s']:.3f} s and {reference[-1]['both_cores_s']:.3f} s"
            ) if reference and "both_cores_s" in reference[0] else ""
    speed = (f" The machine's speed (`_measure.reference_seconds`, fixed workloads; lower is "
             f"faster, to compare runs of other days): compute on one core "
             f"{reference[0]['compute_s']:.3f} s before the runs and "
             f"{reference[-1]['compute_s']:.3f} s after them, random reads "
             f"{reference[0]['memory_s']:.3f} s and {reference[-1]['memory_s']:.3f} s{both}."
             ) if reference else ""
    return (f"1-minute load average during the stages: {min(loads):.1f}–{max(loads):.1f} on "
            f"{cpus} cores{busy}; see `cpu_s` per stage in the JSON for this process's own CPU "
            f"time.{speed}")


def write_doc(report: dict[str, Any], path: Path) -> None:
    """Write the measured tables into ``docs/performance.md`` (between the markers)."""
    national = next(r for r in report["runs"] if r["establishments"] == report["national"])
    body = [f"Measured {report['when']} on {report['machine']['cpus']} cores, "
            f"{report['machine']['memory_gb']} GB (Python {report['machine']['python']}, DuckDB "
            f"{report['machine']['duckdb']}, shapely {report['machine']['shapely']}, pandas "
            f"{report['machine']['pandas']}), with `{report['command']}`; "
            f"{'real 2014 buurten' if report['real_buurten'] else 'a SYNTHETIC grid of buurten'}, "
            f"{report['addresses']:,} addresses, {report['events']:,} register events; sources "
            f"generated in {report['generation_s']} s (not part of the build). "
            f"{load_note(report)}", "",
            "### Targets (national run: "
            f"{report['national']:,} establishments)", "", *targets_table(report), "",
            *speed_targets_table(report), "",
            "### Stages", "", *stages_table(report), "", "### Inner steps of the loaders "
            f"({report['national']:,} establishments)", "", *steps_table(report), "",
            "### Linear cost", "", *linearity(report), "", "### Assignment to areas", "",
            *assignment(report), "", "### National map", "",
            f"- {national['map']['size_mb']:.1f} MB, {national['map']['paths']:,} areas drawn by "
            f"headless Chromium in {national['map']['render_s']:.2f} s (navigation to all paths "
            f"in the DOM)."]
    begin, end = "<!-- bench:national:begin -->", "<!-- bench:national:end -->"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    block = "\n".join([begin, *body, end])
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = (text or "# Performance\n\n") + "\n## National benchmark (`make bench`)\n\n" + \
            block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def summary(report: dict[str, Any]) -> str:
    """The closing lines printed by the benchmark."""
    lines = ["", "targets:"]
    for key, t in report["targets"].items():
        lines.append(f"  {LABELS[key]:<40} {_fmt(t['measured']):>12} {UNITS[key]:<3} "
                     f"(target {_fmt(t['target'])}) {'met' if t['met'] else 'MISSED'}")
    for key, t in report.get("speed_targets", {}).items():
        lines.append(f"  {SPEED_LABELS[key]:<40} {_fmt(t['measured']):>12} {UNITS[key]:<3} "
                     f"(issue 18: at most {_fmt(t['target'])}) {'met' if t['met'] else 'MISSED'}")
    lines.append("\nlinear cost:")
    lines += ["  " + line for line in linearity(report)[2:]]
    return "\n".join(lines)
