"""The standard outputs of a built quarter: scores table, interactive map, static map, lineage
and quality report. Everything is written through :mod:`riskmap.indicators.privacy`."""

from __future__ import annotations

import json
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd

from riskmap.indicators.build import quality_report
from riskmap.indicators.catalogue import THEME_LABELS, Indicator
from riskmap.indicators.privacy import Guard, write_csv, write_figure, write_text
from riskmap.indicators.release import loss_summary
from riskmap.maps.figures import pattern_maps, theme_maps
from riskmap.maps.interactive import map_from_layers
from riskmap.maps.layers import layers_from_store
from riskmap.periods import Period
from riskmap.reports.indicator_table import indicator_table
from riskmap.reports.tables import LEVEL_LABELS, scores_table
from riskmap.store import Store

if TYPE_CHECKING:
    from riskmap.project import Project

LINEAGE_HEADERS = {"load_id": "Lading", "source": "Bron", "slice": "Deel", "path": "Bestand",
                   "api_table": "CBS-tabel", "size": "Grootte (bytes)", "sha256": "SHA-256",
                   "rows_read": "Regels gelezen", "rows_kept": "Regels opgenomen",
                   "rows_rejected": "Regels afgewezen", "rejects": "Redenen van afwijzing",
                   "notes": "Bijzonderheden", "loaded_at": "Geladen op"}


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


def place_name(project: Project) -> str:
    """The name of the gemeente as reports show it (its CBS code when no name is set)."""
    return str(project.config["naam"] or project.config.gemeente)


def map_html(store: Store, period: Period, catalogue: list[Indicator], min_count: int,
             place: str, offline: bool = True) -> str:
    """The interactive map of a quarter: all layers the store has results for."""
    content = layers_from_store(store, period, catalogue, min_count)
    return map_from_layers(content.layers, f"Risico op ondermijning – {place}",
                           f"{period} · Vertrouwelijk", offline=offline, notes=content.notes)


def write_outputs(project: Project, period: Period, offline: bool = True) -> dict[str, Path]:
    """Write ``scores.csv``, ``indicatoren.csv``, ``kaart.html``, ``kaart.png``, ``bronnen.csv``
    and the quality report for a built quarter; returns the paths by name."""
    folder = period_folder(project, period)
    catalogue = project.catalogue()
    min_count = project.config["privacy.min_count"]
    name = place_name(project)
    with project.store(read_only=True) as store:
        guard = project.guard(store)
        paths = {
            "scores": write_csv(scores_table(store, period, catalogue, min_count),
                                folder / "scores.csv", guard),
            "indicatoren": write_csv(indicator_table(store, period, catalogue, min_count),
                                     folder / "indicatoren.csv", guard),
            "bronnen": write_csv(lineage_table(store, period), folder / "bronnen.csv", guard),
        }
        html = map_html(store, period, catalogue, min_count, name, offline)
        paths["kaart"] = write_text(html, folder / "kaart.html", guard)
        overall = next(theme_maps(store, period, catalogue, name))
        paths["kaart_png"] = write_figure(overall.figure, folder / "kaart.png", guard)
        plt.close(overall.figure)
        paths["kwaliteit"] = write_quality(store, period, catalogue, project, folder / "kwaliteit.md",
                                           guard)
    return paths


def write_maps(project: Project, period: Period, offline: bool = True) -> dict[str, Path]:
    """Write the interactive map ``kaart.html`` and the static maps (PNG and PDF) of every
    theme and hotspot pattern to ``kaarten/``; returns the paths by name.

    ``offline`` makes ``kaart.html`` free of any network request (no basemap); otherwise it
    shows the PDOK BRT-Achtergrondkaart (grijs).
    """
    folder = period_folder(project, period)
    catalogue = project.catalogue()
    name = place_name(project)
    with project.store(read_only=True) as store:
        guard = project.guard(store)
        html = map_html(store, period, catalogue, project.config["privacy.min_count"], name,
                        offline)
        paths = {"kaart": write_text(html, folder / "kaart.html", guard)}
        for static in chain(theme_maps(store, period, catalogue, name),
                            pattern_maps(store, period, name)):
            for suffix in ("png", "pdf"):
                path = folder / "kaarten" / f"{static.stem}.{suffix}"
                paths[f"{static.stem}_{suffix}"] = write_figure(static.figure, path, guard)
            plt.close(static.figure)
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
    lines += release_lines(store, period)
    return write_text("\n".join(lines), path, guard)


def release_lines(store: Store, period: Period) -> list[str]:
    """The loss of the quarter's protection per grouping: shown, hidden by the primary rules
    (small count, small group), hidden as complements (Markdown)."""
    cells = store.query("SELECT grouping, reason FROM released_cells WHERE period = ?",
                        [str(period)])
    table = loss_summary(cells)
    lines = ["## Bescherming van de cijfers uit de eigen registers", "",
             "| Indeling | Getoond | Klein aantal | Kleine groep | Ter bescherming |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {grouping} | {' | '.join(str(int(n)) for n in row)} |"
              for grouping, row in table.iterrows()]
    return [*lines, ""]
