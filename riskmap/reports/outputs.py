"""The standard outputs of a built quarter: scores table, interactive map, static map, lineage
and quality report. Everything is written through :mod:`riskmap.indicators.privacy`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd

from riskmap.indicators.build import quality_report
from riskmap.indicators.catalogue import THEME_LABELS, Indicator
from riskmap.indicators.privacy import Guard, write_csv, write_figure, write_text
from riskmap.maps.interactive import MapLayer, map_from_layers
from riskmap.maps.static import static_map
from riskmap.periods import Period
from riskmap.reports.tables import (
    LEVEL_LABELS,
    driver_labels,
    scores_frame,
    scores_table,
    value_labels,
)
from riskmap.store import Store

if TYPE_CHECKING:
    from riskmap.project import Project

LINEAGE_HEADERS = {"load_id": "Lading", "source": "Bron", "slice": "Deel", "path": "Bestand",
                   "api_table": "CBS-tabel", "size": "Grootte (bytes)", "sha256": "SHA-256",
                   "rows_read": "Regels gelezen", "rows_kept": "Regels opgenomen",
                   "rows_rejected": "Regels afgewezen", "rejects": "Redenen van afwijzing",
                   "loaded_at": "Geladen op"}


def period_folder(project: Project, period: Period) -> Path:
    """The output folder of one quarter."""
    return project.output_dir / str(period)


def lineage_table(store: Store, period: Period) -> pd.DataFrame:
    """The loads the latest build of ``period`` was made from, with Dutch headers."""
    row = store.query("SELECT load_ids FROM builds WHERE period = ? ORDER BY build_id DESC "
                      "LIMIT 1", [str(period)])
    ids = json.loads(row["load_ids"].iloc[0]) if not row.empty else []
    lineage = store.lineage(active_only=False)
    lineage = lineage[lineage["load_id"].isin(ids)]
    return lineage[list(LINEAGE_HEADERS)].rename(columns=LINEAGE_HEADERS)


def map_layers(store: Store, period: Period, catalogue: list[Indicator],
               min_count: int) -> list[MapLayer]:
    """One map layer per scored level, with name, code, score, rank and indicator values."""
    layers = []
    for level, show in (("buurt", True), ("bedrijventerrein", True), ("wijk", False)):
        if not store.scalar("SELECT count(*) FROM scores WHERE period = ? AND level = ?",
                            [str(period), level]):
            continue
        frame = scores_frame(store, period, level)
        values = store.query("SELECT * FROM indicator_values WHERE period = ? AND level = ?",
                             [str(period), level])
        shown = value_labels(values, catalogue, min_count)
        frame = frame.join(shown, on="code")
        frame["factoren"] = driver_labels(frame["drivers"], catalogue)
        frame["interval"] = [f"{lo:.0f}–{hi:.0f}" if pd.notna(lo) else "–"
                             for lo, hi in zip(frame["rank_low"], frame["rank_high"], strict=True)]
        tooltip = {"name": "Naam", "code": "Code", "score": "Totaalscore", "rank": "Rang",
                   "interval": "Rang 5–95%", "factoren": "Belangrijkste factoren",
                   **{c: c for c in shown.columns}}
        layers.append(MapLayer(f"{LEVEL_LABELS[level]}en – totaalscore"
                               if level != "bedrijventerrein" else "Bedrijventerreinen – totaalscore",
                               frame, "score", tooltip, show=show))
    return layers


def write_outputs(project: Project, period: Period, offline: bool = True) -> dict[str, Path]:
    """Write ``scores.csv``, ``kaart.html``, ``kaart.png``, ``bronnen.csv`` and the quality
    report for a built quarter; returns the paths by name."""
    folder = period_folder(project, period)
    catalogue = project.catalogue()
    min_count = project.config["privacy.min_count"]
    name = project.config["naam"] or project.config.gemeente
    with project.store(read_only=True) as store:
        guard = project.guard(store)
        paths = {
            "scores": write_csv(scores_table(store, period, catalogue, min_count),
                                folder / "scores.csv", guard),
            "bronnen": write_csv(lineage_table(store, period), folder / "bronnen.csv", guard),
        }
        layers = map_layers(store, period, catalogue, min_count)
        html = map_from_layers(layers, f"Risico op ondermijning – {name}",
                               f"{period} · Vertrouwelijk", offline=offline)
        paths["kaart"] = write_text(html, folder / "kaart.html", guard)
        buurten = next(layer.areas for layer in layers if layer.name.startswith("Buurt"))
        terreinen = store.areas("bedrijventerrein")
        figure = static_map(buurten, "score", f"Totaalscore ondermijning per buurt – {name}, "
                            f"{period}", str(period.end), outlines=terreinen)
        paths["kaart_png"] = write_figure(figure, folder / "kaart.png")
        plt.close(figure)
        paths["kwaliteit"] = write_quality(store, period, catalogue, project, folder / "kwaliteit.md",
                                           guard)
    return paths


def write_quality(store: Store, period: Period, catalogue: list[Indicator], project: Project,
                  path: Path, guard: Guard) -> Path:
    """The quality report of a build: correlations, effective weights, distributions and
    suppressions per level (Markdown)."""
    labels = {i.id: i.label for i in catalogue}
    lines = [f"# Kwaliteitsrapport {period}", ""]
    for level in ("buurt", "wijk", "bedrijventerrein"):
        values = store.query("SELECT * FROM indicator_values WHERE period = ? AND level = ?",
                             [str(period), level])
        if values.empty:
            continue
        report = quality_report(values, catalogue, level, project.config)
        lines += [f"## {LEVEL_LABELS[level]}", "", "### Correlaties boven 0,9 binnen een thema", ""]
        pairs = report["correlations"]
        lines += [f"- {THEME_LABELS[r.theme]}: {labels[r.indicator_a]} ~ {labels[r.indicator_b]} "
                  f"(Spearman {r.spearman:.2f})" for r in pairs.itertuples()] or ["- geen"]
        lines += ["", "### Effectieve gewichten en verdeling", "",
                  "| Indicator | Effectief gewicht | Scheefheid | Kurtosis | Ontbrekend |",
                  "|---|---:|---:|---:|---:|"]
        weights = report["weights"].set_index("indicator")["effective_weight"] \
            if not report["weights"].empty else pd.Series(dtype=float)
        for row in report["distribution"].itertuples():
            lines.append(f"| {labels.get(row.indicator, row.indicator)} | "
                         f"{weights.get(row.indicator, 0):.3f} | {row.skewness:.2f} | "
                         f"{row.kurtosis:.2f} | {row.missing} |")
        lines += ["", "### Niet getoonde waarden (privacy en kleine noemers)", ""]
        suppressed = report["suppressed"]
        lines += [f"- {labels.get(r.indicator, r.indicator)}: {r.count} ({r.reason})"
                  for r in suppressed.itertuples()] or ["- geen"]
        lines.append("")
    return write_text("\n".join(lines), path, guard)
