"""The quarterly gebiedsanalyse: one self-contained HTML file (images embedded, no links out).

Sections: summary, top 10 buurten, largest risers, a map per theme, bedrijventerreinen, trends
over the last four quarters, hotspots, methodology and caveats, what privacy hides, lineage.
Every table passes :func:`~riskmap.indicators.privacy.public_table`, every image
:func:`~riskmap.indicators.privacy.figure_bytes`, the page :func:`~riskmap.indicators.privacy.write_text`.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata, resources
from pathlib import Path

import jinja2
import pandas as pd
from matplotlib.figure import Figure

from riskmap.areatypes import analysis_levels, area_types, level_label
from riskmap.errors import RiskmapError
from riskmap.fmt import integer, long_date
from riskmap.indicators.catalogue import Indicator
from riskmap.indicators.privacy import Guard, figure_bytes, public_table, write_text
from riskmap.maps.figures import StaticMap, pattern_maps, theme_maps
from riskmap.models.ranking import RANKING_LABELS
from riskmap.periods import Period
from riskmap.reports.charts import trend_chart
from riskmap.reports.content import (
    COUNTS,
    area_tables,
    availability_lines,
    build_settings,
    lineage_rows,
    pattern_lines,
    ranked_areas,
    risers,
    summary_lines,
    suppression_lines,
    top_areas,
    trend_scores,
)
from riskmap.reports.quarter import QuarterOutput
from riskmap.reports.trust import (
    Section,
    attention_order,
    bias_section,
    coverage_section,
    track_record_section,
)
from riskmap.store import Store

log = logging.getLogger(__name__)

REPORT_NAME = "gebiedsanalyse.html"
NUMERIC = re.compile(r"^[−+\-<]?[\d.,]+%?\*?$")
TOC = [("samenvatting", "Samenvatting"), ("top", "Top 10 buurten"),
       ("stijgers", "Grootste stijgers"), ("kaarten", "Kaarten per thema"),
       *((t.source, t.plural) for t in area_types().values()), ("trends", "Ontwikkeling"),
       ("hotspots", "Hotspots"), ("dekking", "Dekking van de scores"),
       ("terugtoets", "Terugtoets"), ("bias", "Biastoets"),
       ("werkwijze", "Werkwijze en kanttekeningen"),
       ("privacy", "Privacy"), ("herkomst", "Herkomst van de gegevens")]
CAVEATS = [
    "Een patroon is geen bewijs: de scores wijzen waar het risico hoger is, niet waar "
    "ondermijning plaatsvindt, en zeggen niets over individuele personen, adressen of bedrijven.",
    "Registraties volgen de aandacht: waar vaker gecontroleerd of gemeld wordt, wordt meer "
    "geregistreerd. Een stijging kan dus ook uit meer handhaving komen.",
    "Kleine aantallen schommelen: verschillen tussen kwartalen en kleine verschillen in rang "
    "zijn vaak toeval; kijk naar het 5–95%-interval van de rang.",
    "CBS-cijfers lopen een tot twee jaar achter op de registers; gebiedsgrenzen zijn die van "
    "het jaar van de wijk- en buurtkaart.",
    "Gebruik de uitkomsten als begin van een gesprek en van nader onderzoek met de partners, "
    "niet als grond voor maatregelen tegen wie dan ook.",
]


@dataclass
class Table:
    """A table as the template shows it: headers, rows of (text, CSS class) and notes."""

    headers: list[str]
    rows: list[list[tuple[str, str]]] = field(default_factory=list)
    caption: str = ""
    empty: str = "Geen gegevens."


@dataclass
class Part:
    """A :class:`~riskmap.reports.trust.Section` as the template shows it."""

    id: str
    title: str
    lines: list[str]
    table: Table
    images: list[Image]


@dataclass
class Image:
    """An embedded PNG (base64) with its Dutch title and pixel size."""

    title: str
    data: str
    width: int
    height: int
    alt: str = ""


def html_table(frame: pd.DataFrame, where: str, min_count: int, counts: Sequence[str] = (),
               caption: str = "", empty: str = "Geen gegevens.") -> Table:
    """A DataFrame through the privacy gate, as text cells; numbers are right-aligned."""
    if frame.empty:
        return Table([], caption=caption, empty=empty)
    safe = public_table(frame, where, counts, min_count)
    rows = [[(_cell(v), "num" if NUMERIC.match(_cell(v)) else "") for v in row]
            for row in safe.itertuples(index=False)]
    return Table([str(c) for c in safe.columns], rows, caption, empty)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    return str(value)


def embed(figure: Figure, guard: Guard, title: str, dpi: int = 100, alt: str = "") -> Image:
    """A figure checked, rendered and embedded (``alt``: its text for screen readers, default
    the title)."""
    width, height = (round(float(v) * dpi) for v in figure.get_size_inches())
    data = figure_bytes(figure, guard, f"{REPORT_NAME} [{title}]", dpi=dpi)
    return Image(title, base64.b64encode(data).decode("ascii"), width, height, alt or title)


def trend_images(store: Store, period: Period, ranked: pd.DataFrame,
                 terrains: Mapping[str, pd.DataFrame],
                 guard: Guard) -> tuple[list[Image], list[str]]:
    """Charts of the last four quarters (top 10, risers, each analysis-area type) and notes."""
    trends = trend_scores(store, period)
    if trends["period"].nunique() < 2:
        return [], [f"Ontwikkeling: niet beschikbaar – minder dan twee kwartalen berekend t/m "
                    f"{period}."]
    names = dict(zip(ranked["code"], ranked["name"], strict=True))
    first = trends["period"].min()
    charts = [("Totaalscore van de huidige top 10 buurten", ranked.head(10)["code"].tolist())]
    rising = ranked[ranked["change"] > 0].sort_values("change", ascending=False)
    if not rising.empty:
        charts.append(("Totaalscore van de vijf grootste stijgers", rising.head(5)["code"].tolist()))
    for level, table in terrains.items():
        if not table.empty:
            names.update(zip(table["Code"], table[level_label(level)], strict=True))
            charts.append((f"Totaalscore van de {level_label(level, plural=True).lower()}",
                           table["Code"].tolist()))
    images = [embed(trend_chart(trends, codes, names, f"{title}, {first} t/m {period}"), guard,
                    title) for title, codes in charts]
    return images, []


def method_lines(store: Store, period: Period, catalogue: list[Indicator]) -> list[str]:
    """How the scores were made, in Dutch, with the settings of this build."""
    settings = build_settings(store, period)
    normalisation = {"percentile": "percentielrang", "zscore": "z-score",
                     "minmax": "min-max"}.get(str(settings.get("scoring.normalisation")),
                                              "percentielrang")
    draws = settings.get("scoring.draws", 200)
    return [
        f"{len(catalogue)} indicatoren uit CBS Kerncijfers wijken en buurten, politiecijfers, "
        f"het KvK-handelsregister, de BAG en gemeentelijke registers, per buurt, wijk, "
        f"{' en '.join(level_label(lv).lower() for lv in analysis_levels())}; "
        f"registerindicatoren tellen over 12 of 24 maanden tot de peildatum.",
        f"Elke indicator is genormaliseerd ({normalisation}, uitschieters begrensd), per thema "
        f"gewogen gemiddeld tot een themascore van 0 tot 100; de totaalscore is het gewogen "
        f"gemiddelde van de thema's. Een thema zonder de helft van het gewicht van zijn "
        f"indicatoren die in het gebied van toepassing zijn ontbreekt (nooit 0); waar weinig "
        f"mensen wonen telt dezelfde maat per adres of vestiging (zie Dekking).",
        f"Onzekerheid: de scores zijn {draws} keer opnieuw berekend met verstoorde gewichten en "
        f"andere normalisaties; 'Rang 5–95%' is de band waarin de rang dan valt.",
        "Belangrijkste factoren: de drie indicatoren die het meest bijdragen aan de totaalscore "
        "van het gebied. Verandering: het verschil met de score van het vorige kwartaal.",
        "Hotspots: Getis-Ord Gi* op de totaalscore van buurten (buren met een gedeelde grens), "
        "tweezijdige permutatietoets en correctie voor meervoudig toetsen (FDR 5%).",
    ]


def trust_parts(q: QuarterOutput) -> list[Part]:
    """Coverage, track record and bias audit as report parts."""
    store, period, guard, min_count = q.store, q.period, q.guard, q.min_count
    try:
        bias = bias_section(q.bias_audit(), min_count)
    except RiskmapError as exc:
        bias = Section("Biastoets", [f"Biastoets: niet beschikbaar – {exc}."])
    parts = []
    for key, section in (("dekking", coverage_section(store, period)),
                         ("terugtoets", track_record_section(store, period)), ("bias", bias)):
        images = [embed(section.figure, guard, section.title)] if section.figure else []
        parts.append(Part(key, section.title, section.lines,
                          html_table(section.table, REPORT_NAME, min_count, section.counts,
                                     caption=section.caption, empty="Geen."), images))
    return parts


def report_html(q: QuarterOutput) -> str:
    """The gebiedsanalyse of a built quarter as one HTML page."""
    store, period, catalogue, place, guard = q.store, q.period, q.catalogue, q.place, q.guard
    min_count = q.min_count
    ranked = ranked_areas(store, period, "buurt", catalogue)
    attention, choice = attention_order(ranked, store, period)
    terrains = area_tables(store, period, catalogue)
    where = REPORT_NAME
    note = "* score mede berekend uit gegevens die wegens privacy niet getoond worden."
    order = (f"Volgorde: {RANKING_LABELS[choice.method]} (de rangorde die in de terugtoets het "
             f"best voorspelde; zie Terugtoets). {note}")
    charts, trend_notes = trend_images(store, period, ranked, terrains, guard)
    context = {
        "title": f"Gebiedsanalyse ondermijning {place} – {period}",
        "data_date": long_date(period.end), "created": f"{datetime.now():%d-%m-%Y %H:%M}",
        "version": version(), "previous": str(period - 1), "toc": TOC,
        "summary": summary_lines(store, period, ranked, terrains),
        "top": html_table(top_areas(attention), where, min_count, caption=order),
        "trust": trust_parts(q),
        "risers": html_table(risers(ranked), where, min_count, caption=note,
                             empty=f"Geen buurt steeg sinds {period - 1}."),
        "area_sections": [
            (area_types()[level].source, level_label(level, plural=True),
             html_table(table, where, min_count, COUNTS, caption=note,
                        empty=f"Geen {level_label(level, plural=True).lower()} met een score."))
            for level, table in terrains.items()],
        "theme_maps": _images(q, theme_maps(store, period, catalogue, place)),
        "trend_charts": charts, "trend_notes": trend_notes,
        "pattern_notes": pattern_lines(store, period),
        "pattern_maps": _images(q, pattern_maps(store, period, place)),
        "method": method_lines(store, period, catalogue),
        "caveats": CAVEATS + availability_lines(store, period, catalogue),
        "suppression": suppression_lines(store, period, min_count),
        "lineage": html_table(lineage_rows(store, period), where, min_count,
                              caption="Volledige SHA-256, paden en laadmomenten: bronnen.csv."),
        "footer": f"gemaakt met riskmap {version()} uit de build van {period}",
    }
    return template().render(**context)


def _images(q: QuarterOutput, maps: Iterable[StaticMap]) -> list[Image]:
    """The static maps as the map files show them (rendered once, see
    :meth:`~riskmap.reports.quarter.QuarterOutput.map_png`)."""
    images = []
    for static in maps:
        data = q.map_png(static)
        # a PNG's size is in its IHDR chunk, right after the 8-byte signature and chunk header
        width, height = (int.from_bytes(data[at:at + 4], "big") for at in (16, 20))
        images.append(Image(static.title, base64.b64encode(data).decode("ascii"), width, height,
                            static.title))
    return images


def template(name: str = REPORT_NAME) -> jinja2.Template:
    """A report template of :mod:`riskmap.reports` (HTML-escaped rendering)."""
    text = resources.files("riskmap.reports").joinpath("templates", name).read_text(
        encoding="utf-8")
    return jinja2.Environment(autoescape=True, trim_blocks=True,
                              lstrip_blocks=True).from_string(text)


def version() -> str:
    """The installed riskmap version (``onbekend`` in an uninstalled checkout)."""
    try:
        return metadata.version("riskmap")
    except metadata.PackageNotFoundError:
        return "onbekend"


def write_report(q: QuarterOutput) -> Path:
    """Write ``gebiedsanalyse.html`` for a built quarter and return its path."""
    html = report_html(q)
    path = write_text(html, q.folder / REPORT_NAME, q.guard)
    log.debug("%s geschreven (%s kB)", path, integer(path.stat().st_size // 1024))
    return path
