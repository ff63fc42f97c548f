"""The driehoek briefing: a short PDF (A4, 3–4 pages) marked confidential on every page.

Page 1: key messages and the top 10 buurten. Page 2: the overall map and the hotspots.
Page 3: the themes as small multiples. Page 4: bedrijventerreinen, caveats and sources.
Pages are matplotlib figures written by :func:`~riskmap.indicators.privacy.write_pdf`, which
checks every page's text first.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.transforms import Bbox

from riskmap.config import Config
from riskmap.errors import RiskmapError
from riskmap.fmt import long_date
from riskmap.indicators.build import OVERALL
from riskmap.indicators.catalogue import Indicator
from riskmap.indicators.privacy import Guard, public_table, write_pdf
from riskmap.maps.areas import latest_areas, score_areas, themes_scored
from riskmap.maps.classes import MISSING_COLOUR, PALETTE
from riskmap.maps.layers import theme_title
from riskmap.maps.patterns import (
    HOTSPOT_COLOURS,
    NOT_ANALYSED,
    NOT_SIGNIFICANT,
    hotspot_areas,
)
from riskmap.maps.static import CONFIDENTIAL, draw_map
from riskmap.models.ranking import RANKING_LABELS, Choice, stored_choice, stored_track_record
from riskmap.periods import Period
from riskmap.reports.bias import bias_audit
from riskmap.reports.content import (
    COUNTS,
    ranked_areas,
    risers,
    source_labels,
    summary_lines,
    suppression_lines,
    terrain_table,
    top_areas,
)
from riskmap.reports.gebiedsanalyse import CAVEATS
from riskmap.reports.outputs import lineage_table, period_folder, place_name
from riskmap.reports.trust import attention_order, poorest_lines, short_verdict
from riskmap.store import Store

if TYPE_CHECKING:
    from riskmap.project import Project

log = logging.getLogger(__name__)

BRIEFING_NAME = "briefing_driehoek.pdf"
A4 = (8.27, 11.69)
LEFT, RIGHT = 0.07, 0.93
CONFIDENTIAL_RED = "#b00020"


class Page:
    """An A4 page with a confidential header and footer and a text cursor running down it."""

    def __init__(self, title: str, heading: str, number: int, total: int) -> None:
        self.figure = plt.figure(figsize=A4, dpi=100)
        self.y = 0.90
        self.figure.patches.append(Rectangle((0, 0.972), 1, 0.028, transform=self.figure.transFigure,
                                             color=CONFIDENTIAL_RED))
        self.figure.text(0.5, 0.986, f"{CONFIDENTIAL.upper()} – alleen voor de driehoek",
                         ha="center", va="center", color="white", fontsize=9, fontweight="bold")
        self.figure.text(LEFT, 0.945, title, fontsize=9, color="#5b6673", va="center")
        self.figure.text(LEFT, 0.92, heading, fontsize=15, fontweight="bold", va="center")
        self.figure.text(LEFT, 0.025, f"{CONFIDENTIAL} · niet verder verspreiden", fontsize=7.5,
                         color=CONFIDENTIAL_RED)
        self.figure.text(RIGHT, 0.025, f"pagina {number} van {total}", fontsize=7.5,
                         ha="right", color="#5b6673")

    def heading(self, text: str) -> None:
        """A section heading at the cursor."""
        self.y -= 0.015
        self.figure.text(LEFT, self.y, text, fontsize=11.5, fontweight="bold", va="top")
        self.y -= 0.028

    def bullets(self, lines: list[str], size: float = 9.5, width: int = 100) -> None:
        """Wrapped bullet points at the cursor."""
        for line in lines:
            wrapped = textwrap.wrap(line, width)
            self.figure.text(LEFT, self.y, "•", fontsize=size, va="top")
            self.figure.text(LEFT + 0.02, self.y, "\n".join(wrapped), fontsize=size, va="top",
                             linespacing=1.35)
            self.y -= 0.0185 * len(wrapped) * size / 9.5 + 0.006

    def note(self, text: str, size: float = 7.5) -> None:
        """A small note at the cursor."""
        self.figure.text(LEFT, self.y, text, fontsize=size, va="top", color="#5b6673")
        self.y -= 0.02

    def table(self, frame: pd.DataFrame, widths: list[float], size: float = 7.5) -> None:
        """A table at the cursor; headers and cells are wrapped to their column widths."""
        chars = [max(6, int(w * (RIGHT - LEFT) * A4[0] * 72 / (size * 0.56))) for w in widths]
        header = [textwrap.fill(str(c), n) for c, n in zip(frame.columns, chars, strict=True)]
        cells = [[textwrap.fill(str(v), n) for v, n in zip(row, chars, strict=True)]
                 for row in frame.itertuples(index=False)]
        line = size * 1.45 / 72 / A4[1]  # one text line in figure height
        heights = [line * (max(h.count("\n") for h in header) + 1) + 0.008]
        heights += [line * (max(c.count("\n") for c in row) + 1) + 0.008 for row in cells]
        total = sum(heights)
        ax = self.figure.add_axes((LEFT, self.y - total, RIGHT - LEFT, total))
        ax.set_axis_off()
        table = ax.table(cellText=cells, colLabels=header, colWidths=widths, cellLoc="left",
                         bbox=Bbox.from_bounds(0, 0, 1, 1))
        table.auto_set_font_size(False)
        table.set_fontsize(size)
        for (row, _col), cell in table.get_celld().items():
            cell.set_height(heights[row] / total)
            cell.set_edgecolor("#d8dde3")
            cell.set_linewidth(0.5)
            if row == 0:
                cell.set_facecolor("#eef1f6")
                cell.get_text().set_fontweight("bold")
        self.y -= total + 0.015


def _page_one(page: Page, summary: list[str], attention: tuple[pd.DataFrame, Choice],
              ranked: pd.DataFrame, min_count: int) -> None:
    page.heading("Kernpunten")
    page.bullets(summary)
    page.bullets(["Een patroon is geen bewijs: een hoge score zegt niet dat er ondermijning "
                  "plaatsvindt en niets over personen, adressen of bedrijven."])
    columns = {"Rang": "Rang", "Buurt": "Buurt", "Totaalscore": "Totaalscore",
               "Rang 5–95%": "Rang 5–95%", "Verandering": "Verandering",
               "Hoogste thema": "Hoogste thema"}
    widths = [0.06, 0.18, 0.11, 0.1, 0.3, 0.25]
    page.heading("Hoogste risico: top 10 buurten")
    top = top_areas(attention[0])[list(columns)].rename(columns=columns)
    page.table(public_table(top, BRIEFING_NAME, (), min_count), widths)
    page.note(f"Volgorde: {RANKING_LABELS[attention[1].method]} (de rangorde die in de "
              f"terugtoets het best voorspelde; zie pagina 4).")
    page.heading("Grootste stijgers (top 5)")
    rising = risers(ranked, 5)[list(columns)].rename(columns=columns)
    if rising.empty:
        page.bullets(["Geen buurt steeg sinds het vorige kwartaal."])
    else:
        page.table(public_table(rising, BRIEFING_NAME, (), min_count), widths)
    page.note("* score mede berekend uit gegevens die wegens privacy niet getoond worden.")


def _page_two(page: Page, store: Store, period: Period, catalogue: list[Indicator]) -> None:
    terrains = latest_areas(store, "bedrijventerrein")
    page.heading("Totaalscore per buurt")
    ax = page.figure.add_axes((LEFT, page.y - 0.37, 0.62, 0.37))
    draw_map(ax, score_areas(store, period, "buurt", OVERALL, catalogue), "score",
             "Score (0–100)", outlines=terrains)
    page.y -= 0.40
    hotspots = hotspot_areas(store, period)
    page.heading("Hotspots (Gi*) van de totaalscore")
    if hotspots is None:
        page.bullets([f"Niet beschikbaar: de hotspotanalyse is nog niet berekend voor {period}."])
        return
    ax = page.figure.add_axes((LEFT, page.y - 0.32, 0.62, 0.32))
    draw_map(ax, hotspots, "category", "Gi*, na FDR-correctie",
             categories={**HOTSPOT_COLOURS, NOT_SIGNIFICANT: "#f2f2f2"},
             missing_label=NOT_ANALYSED)
    page.y -= 0.34


def _page_three(page: Page, store: Store, period: Period, catalogue: list[Indicator]) -> None:
    page.heading("Thema's (kleur: vijf klassen van laag naar hoog per thema)")
    buurten = latest_areas(store, "bedrijventerrein")
    panels = [(theme_title(t), score_areas(store, period, "buurt", t, catalogue), None)
              for t in themes_scored(store, period, "buurt")]
    if "gelegenheid" in themes_scored(store, period, "bedrijventerrein"):
        panels.append((f"{theme_title('gelegenheid')} (bedrijventerreinen)",
                       score_areas(store, period, "bedrijventerrein", "gelegenheid", catalogue),
                       latest_areas(store, "buurt")))
    width, height, gap = 0.4, 0.2, 0.058
    page.y -= 0.02
    for i, (title, areas, background) in enumerate(panels[:6]):
        row, col = divmod(i, 2)
        top = page.y - row * (height + gap)
        ax = page.figure.add_axes((LEFT + col * (width + 0.06), top - height, width, height))
        draw_map(ax, areas, "score", outlines=None if background is not None else buurten,
                 background=background, legend=False)
        ax.set_title(title, fontsize=9.5, loc="left")
    handles = [Patch(facecolor=c, edgecolor="#666", label=label) for c, label in
               zip([*PALETTE, MISSING_COLOUR], ["laagste 20%", "", "", "", "hoogste 20%",
                                                "geen score"], strict=True)]
    handles.append(Patch(facecolor="none", edgecolor="#1f3a93", linestyle="--",
                         label="bedrijventerrein"))
    page.figure.legend(handles=handles, loc="upper center", ncols=7, fontsize=7.5,
                       frameon=False, bbox_to_anchor=(0.5, 0.075))


def trust_lines(store: Store, period: Period, catalogue: list[Indicator],
                config: Config) -> list[str]:
    """The briefing's lines on the ranking's track record and bias audit."""
    choice = stored_choice(store, period)
    table = stored_track_record(store, period)
    lines = [short_verdict(table, choice) if not table.empty else
             f"Terugtoets: niet beschikbaar – {choice.reason}."]
    try:
        audit = bias_audit(store, catalogue, config, period)
    except RiskmapError as exc:
        return [*lines, f"Biastoets: niet beschikbaar – {exc}."]
    return [*lines, poorest_lines(audit, config["privacy.min_count"])[0]]


def _page_four(page: Page, store: Store, period: Period, catalogue: list[Indicator],
               config: Config) -> None:
    min_count = config["privacy.min_count"]
    terrains = terrain_table(store, period, catalogue)
    page.heading("Bedrijventerreinen")
    if terrains.empty:
        page.bullets(["Geen bedrijventerreinen met een score."])
    else:
        shown = terrains[["Rang", "Bedrijventerrein", "Totaalscore", "Gelegenheid",
                          "Verandering", *COUNTS]]
        page.table(public_table(shown, BRIEFING_NAME, COUNTS, min_count),
                   [0.06, 0.25, 0.1, 0.11, 0.24, 0.11, 0.13])
    page.heading("Betrouwbaarheid en bias van de rangorde")
    page.bullets(trust_lines(store, period, catalogue, config), size=8, width=118)
    page.heading("Kanttekeningen")
    page.bullets(CAVEATS, size=8, width=118)
    page.heading("Privacy")
    page.bullets(suppression_lines(store, period, min_count), size=8, width=118)
    lineage = lineage_table(store, period)
    page.heading("Bronnen")
    page.bullets([f"{len(lineage)} ladingen: " + ", ".join(source_labels(lineage["Bron"])) +
                  f". Volledige herkomst (bestanden, SHA-256, regels) in bronnen.csv en de "
                  f"gebiedsanalyse van {period}."], size=8, width=118)


def briefing_pages(store: Store, period: Period, catalogue: list[Indicator], place: str,
                   config: Config) -> list[Figure]:
    """The pages of the briefing as figures (the caller closes them)."""
    title = f"Briefing driehoek · Ondermijning {place} · {period} · peildatum " \
            f"{long_date(period.end)}"
    total = 4
    pages = [Page(title, heading, n, total) for n, heading in enumerate(
        ["Risico op ondermijning: stand van zaken", "Kaarten", "Thema's",
         "Bedrijventerreinen en kanttekeningen"], start=1)]
    min_count = config["privacy.min_count"]
    ranked = ranked_areas(store, period, "buurt", catalogue)
    summary = summary_lines(store, period, ranked, terrain_table(store, period, catalogue))
    _page_one(pages[0], summary, attention_order(ranked, store, period), ranked, min_count)
    _page_two(pages[1], store, period, catalogue)
    _page_three(pages[2], store, period, catalogue)
    _page_four(pages[3], store, period, catalogue, config)
    return [page.figure for page in pages]


def write_briefing(project: Project, period: Period) -> Path:
    """Write ``briefing_driehoek.pdf`` for a built quarter and return its path."""
    with project.store(read_only=True) as store:
        guard: Guard = project.guard(store)
        figures = briefing_pages(store, period, project.catalogue(), place_name(project),
                                 project.config)
        try:
            path = write_pdf(figures, period_folder(project, period) / BRIEFING_NAME, guard,
                             title=f"Briefing driehoek {place_name(project)} {period}")
        finally:
            for figure in figures:
                plt.close(figure)
    log.info("wrote %s (%d pages)", path, len(figures))
    return path
