"""The standard outputs of a built quarter: tables (scores, indicators, lineage, quality) and
maps (interactive and static). Everything is written through :mod:`riskmap.indicators.privacy`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from itertools import chain
from pathlib import Path

# the static maps are rendered as PNG and PDF in forked processes: their backends are imported
# here, once, not in each of those processes (the PDF backend alone takes ~0.14 s)
import matplotlib.backends.backend_agg
import matplotlib.backends.backend_pdf  # noqa: F401
import pandas as pd
from matplotlib.figure import Figure

from riskmap._forked import started
from riskmap.areatypes import scored_levels
from riskmap.fmt import integer, number
from riskmap.indicators.build import quality_report
from riskmap.indicators.catalogue import THEME_LABELS
from riskmap.indicators.privacy import Guard, figure_text, write_csv, write_figure, write_text
from riskmap.indicators.release import loss_summary
from riskmap.maps.figures import StaticMap, pattern_maps, theme_maps
from riskmap.maps.interactive import map_from_layers
from riskmap.maps.layers import layers_from_store
from riskmap.periods import Period
from riskmap.reports.indicator_table import indicator_table
from riskmap.reports.quarter import QuarterOutput
from riskmap.reports.tables import LEVEL_LABELS, scores_table
from riskmap.store import Store

LINEAGE_HEADERS = {"load_id": "Lading", "source": "Bron", "slice": "Deel", "path": "Bestand",
                   "api_table": "CBS-tabel", "size": "Grootte (bytes)", "sha256": "SHA-256",
                   "rows_read": "Regels gelezen", "rows_kept": "Regels opgenomen",
                   "rows_rejected": "Regels afgewezen", "rejects": "Redenen van afwijzing",
                   "notes": "Bijzonderheden", "loaded_at": "Geladen op"}
REASONS_HEADER = LINEAGE_HEADERS["rejects"]
NOTES_HEADER = LINEAGE_HEADERS["notes"]
Writer = Callable[[QuarterOutput], dict[str, Path]]  # writes outputs, returns their paths


def lineage_table(store: Store, period: Period) -> pd.DataFrame:
    """The loads the latest build of ``period`` was made from, with Dutch headers.

    The reasons of rejection stay as stored (JSON: reason -> rows); :func:`reasons_text`
    writes them out.
    """
    row = store.query("SELECT load_ids FROM builds WHERE period = ? ORDER BY build_id DESC "
                      "LIMIT 1", [str(period)])
    ids = json.loads(row["load_ids"].iloc[0]) if not row.empty else []
    lineage = store.lineage(active_only=False)
    lineage = lineage[lineage["load_id"].isin(ids)]
    return lineage[list(LINEAGE_HEADERS)].rename(columns=LINEAGE_HEADERS)


def reasons_text(text: object) -> str:
    """Stored reasons of rejection or notes of a load (JSON: reason -> rows) as Dutch text:
    ``6 buiten de gemeente; 8 dubbele regel``; empty when there are none."""
    reasons = json.loads(text) if isinstance(text, str) and text else {}
    return "; ".join(f"{integer(n)} {why}" for why, n in reasons.items())


def sources_table(store: Store, period: Period) -> pd.DataFrame:
    """The lineage of ``period`` for ``bronnen.csv``: one row per load, reasons and notes as
    text."""
    table = lineage_table(store, period)
    return table.assign(**{header: table[header].map(reasons_text)
                           for header in (REASONS_HEADER, NOTES_HEADER)})


def map_html(q: QuarterOutput, offline: bool = True) -> str:
    """The interactive map of a quarter: all layers the store has results for."""
    content = layers_from_store(q.store, q.period, q.catalogue, q.min_count)
    return map_from_layers(content.layers, f"Risico op ondermijning – {q.place}",
                           f"{q.period} · Vertrouwelijk", offline=offline, notes=content.notes)


def write_tables(q: QuarterOutput) -> dict[str, Path]:
    """Write ``scores.csv``, ``indicatoren.csv``, ``bronnen.csv`` and ``kwaliteit.md`` of a built
    quarter; returns the paths by name."""
    return {
        "scores": write_csv(scores_table(q.store, q.period, q.catalogue, q.min_count),
                            q.folder / "scores.csv", q.guard),
        "indicatoren": write_csv(indicator_table(q.store, q.period, q.catalogue, q.min_count),
                                 q.folder / "indicatoren.csv", q.guard),
        "bronnen": write_csv(sources_table(q.store, q.period), q.folder / "bronnen.csv", q.guard),
        "kwaliteit": write_quality(q, q.folder / "kwaliteit.md"),
    }


def write_maps(q: QuarterOutput, offline: bool = True) -> dict[str, Path]:
    """Write the interactive map ``kaart.html``, the overall map ``kaart.png`` and the static
    maps (PNG and PDF) of every theme and hotspot pattern to ``kaarten/``; returns the paths by
    name.

    ``offline`` (the default) makes ``kaart.html`` free of any network request (no basemap);
    otherwise it shows the PDOK BRT-Achtergrondkaart (grijs). The page is written while the
    static maps render (see :func:`write_static_maps`).
    """
    return write_static_maps(q, [partial(write_map_page, offline=offline)])


def write_static_maps(q: QuarterOutput, alongside: Sequence[Writer] = ()) -> dict[str, Path]:
    """Write the static maps (PNG and PDF) of every theme and hotspot pattern to ``kaarten/``
    and the overall one to ``kaart.png``; returns the paths by name.

    The maps are drawn and their text checked here, then rendered side by side in forked
    processes where possible (:func:`riskmap._forked.started`), while this process runs the
    writers ``alongside`` (their paths come first).
    """
    statics = static_maps(q)
    figures = [_checked_drawing(static, q.guard, _stem(q, static)) for static in statics]
    with started([partial(_render, figure, _stem(q, static))
                  for static, figure in zip(statics, figures, strict=True)]) as rendered:
        paths = {name: path for writer in alongside for name, path in writer(q).items()}
        return paths | static_paths(q, statics, rendered)


def static_maps(q: QuarterOutput) -> list[StaticMap]:
    """The static maps of every theme and hotspot pattern, with their data (read here), to be
    drawn."""
    return list(chain(theme_maps(q.store, q.period, q.catalogue, q.place),
                      pattern_maps(q.store, q.period, q.place)))


def drawing_tasks(q: QuarterOutput, statics: Sequence[StaticMap],
                  guard: Guard) -> list[Callable[[], tuple[Path, Path]]]:
    """One task per static map that draws it, checks its text with ``guard`` and writes it as
    PNG and PDF (no store needed unless the guard asks one)."""
    return [partial(_drawn, static, guard, _stem(q, static)) for static in statics]


def _stem(q: QuarterOutput, static: StaticMap) -> Path:
    return q.folder / "kaarten" / static.stem


def _drawn(static: StaticMap, guard: Guard, stem: Path) -> tuple[Path, Path]:
    return _render(_checked_drawing(static, guard, stem), stem)


def _checked_drawing(static: StaticMap, guard: Guard, stem: Path) -> Figure:
    """``static`` drawn, its text checked by ``guard`` (refused before anything is written)."""
    figure = static.draw()
    guard.check_text(figure_text(figure), str(stem))
    return figure


def _render(figure: Figure, stem: Path) -> tuple[Path, Path]:
    """A drawn figure, its text checked, as ``stem.png`` and ``stem.pdf``."""
    return (write_figure(figure, stem.parent / f"{stem.name}.png"),
            write_figure(figure, stem.parent / f"{stem.name}.pdf"))


def static_paths(q: QuarterOutput, statics: Sequence[StaticMap],
                 rendered: Iterable[tuple[Path, Path]]) -> dict[str, Path]:
    """The paths of the rendered maps by name; each PNG kept for the report to embed, the
    overall one copied to ``kaart.png``."""
    paths: dict[str, Path] = {}
    for static, (png, pdf) in zip(statics, rendered, strict=True):
        paths[f"{static.stem}_png"], paths[f"{static.stem}_pdf"] = png, pdf
        rendered_png = png.read_bytes()
        q.map_png(static, rendered_png)  # the report embeds it
        if static.stem == "kaart_totaal":
            paths["kaart_png"] = q.folder / "kaart.png"
            paths["kaart_png"].write_bytes(rendered_png)
    return paths


def write_map_page(q: QuarterOutput, offline: bool = True) -> dict[str, Path]:
    """Write the interactive map ``kaart.html`` (:func:`map_html`)."""
    return {"kaart": write_text(map_html(q, offline), q.folder / "kaart.html", q.guard)}


def write_quality(q: QuarterOutput, path: Path) -> Path:
    """The quality report of a build: correlations, effective weights, distributions and
    suppressions per level (Markdown, numbers in Dutch)."""
    labels = {i.id: i.label for i in q.catalogue}
    lines = [f"# Kwaliteitsrapport {q.period}", ""]
    for level in scored_levels():
        values = q.store.query("SELECT * FROM indicator_values WHERE period = ? AND level = ?",
                               [str(q.period), level])
        if values.empty:
            continue
        report = quality_report(values, q.catalogue, level, q.config)
        lines += [f"## {LEVEL_LABELS[level]}", "", "### Correlaties boven 0,9 binnen een thema", ""]
        pairs = report["correlations"]
        lines += [f"- {THEME_LABELS[r.theme]}: {labels[r.indicator_a]} ~ {labels[r.indicator_b]} "
                  f"(Spearman {number(r.spearman, 2)})" for r in pairs.itertuples()] or ["- geen"]
        lines += ["", "### Effectieve gewichten en verdeling", "",
                  "| Indicator | Effectief gewicht | Scheefheid | Kurtosis | Ontbrekend |",
                  "|---|---:|---:|---:|---:|"]
        weights = report["weights"].set_index("indicator")["effective_weight"] \
            if not report["weights"].empty else pd.Series(dtype=float)
        for row in report["distribution"].itertuples():
            lines.append(f"| {labels.get(row.indicator, row.indicator)} | "
                         f"{number(weights.get(row.indicator, 0), 3)} | "
                         f"{number(row.skewness, 2)} | {number(row.kurtosis, 2)} | "
                         f"{integer(row.missing)} |")
        lines += ["", "### Niet getoonde waarden (privacy en kleine noemers)", ""]
        suppressed = report["suppressed"]
        lines += [f"- {labels.get(r.indicator, r.indicator)}: {integer(r.count)} ({r.reason})"
                  for r in suppressed.itertuples()] or ["- geen"]
        lines.append("")
    lines += release_lines(q.store, q.period)
    return write_text("\n".join(lines), path, q.guard)


def release_lines(store: Store, period: Period) -> list[str]:
    """The loss of the quarter's protection per grouping: shown, hidden by the primary rules
    (small count, small group), hidden as complements (Markdown)."""
    cells = store.query("SELECT grouping, reason FROM released_cells WHERE period = ?",
                        [str(period)])
    table = loss_summary(cells)
    lines = ["## Bescherming van de cijfers uit de eigen registers", "",
             "| Indeling | Getoond | Klein aantal | Kleine groep | Ter bescherming |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {grouping} | {' | '.join(integer(n) for n in row)} |"
              for grouping, row in table.iterrows()]
    return [*lines, ""]
