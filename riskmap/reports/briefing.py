"""The driehoek briefing: a short, accessible PDF (A4, about four pages), confidential on every
page.

Written for the mayor, police and public prosecutor: *aandachtspunten* first (where, what is
new, what rose), then what to discuss and decide, a paragraph per phenomenon with its trend, a
map with the top areas named and the hotspots outlined, the top 10 with the theme of its
strongest factor beside the factors themselves, the ranking's track record (the backtest), and
the caveats. The PDF is rendered from an HTML template by WeasyPrint as PDF/UA-1: tagged, with
its language, title and alternative texts for the maps, so screen readers can read it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from riskmap.areatypes import analysis_levels, level_label
from riskmap.errors import RiskmapError
from riskmap.fmt import integer, long_date, number, signed
from riskmap.indicators.build import OVERALL
from riskmap.indicators.catalogue import THEME_LABELS, Indicator
from riskmap.indicators.privacy import Guard, write_html_pdf
from riskmap.maps.areas import driver_list, latest_areas, score_areas, themes_scored
from riskmap.maps.classes import PALETTE
from riskmap.maps.figures import QUIET
from riskmap.maps.patterns import (
    EMERGING_COLOURS,
    HOTSPOT_COLOURS,
    NO_PATTERN,
    NOT_ANALYSED,
    emerging_areas,
    hotspot_areas,
)
from riskmap.maps.static import draw_map, label_areas, outline_areas
from riskmap.models.backtest import METHOD_LABELS
from riskmap.models.ranking import RANKING_LABELS, stored_track_record
from riskmap.periods import Period
from riskmap.reports.content import (
    COUNTS,
    area_tables,
    highest_area_lines,
    ranked_areas,
    risers,
    source_labels,
    suppression_lines,
)
from riskmap.reports.gebiedsanalyse import CAVEATS, Image, Table, embed, html_table, template
from riskmap.reports.outputs import lineage_table
from riskmap.reports.quarter import QuarterOutput
from riskmap.reports.targets import target_cells
from riskmap.reports.trust import attention_order, poorest_lines, track_record_section
from riskmap.store import Store

log = logging.getLogger(__name__)

BRIEFING_NAME = "briefing_driehoek.pdf"
TEMPLATE = "briefing.html"
TOP = 10
MAP_SIZE = (7.0, 4.6)
BIG_CHANGE = 5.0  # points of a theme score that count as a clear rise or fall


def _names(frame: pd.DataFrame, n: int = 3) -> str:
    names = frame["name"].head(n).tolist()
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " en " + names[-1]


def strongest_theme(drivers: object, catalogue: list[Indicator]) -> str:
    """The theme of an area's strongest factor (its first driver), so the theme shown and the
    factors beside it never disagree; ``–`` without drivers."""
    by_id = {i.id: i for i in catalogue}
    ids = [d for d in driver_list(drivers, {i.id: i.id for i in catalogue}) if d in by_id]
    return THEME_LABELS.get(by_id[ids[0]].themes[0], "–") if ids else "–"


def ranked_with_themes(store: Store, period: Period, catalogue: list[Indicator]) -> pd.DataFrame:
    """Buurten by rank with ``strongest_theme`` (see :func:`strongest_theme`)."""
    ranked = ranked_areas(store, period, "buurt", catalogue)
    drivers = store.query("SELECT area_code AS code, drivers FROM scores WHERE period = ? AND "
                          "level = 'buurt' AND theme = ?", [str(period), OVERALL])
    by_code = drivers.set_index("code")["drivers"]
    ranked["strongest_theme"] = ranked["code"].map(
        lambda c: strongest_theme(by_code.get(c), catalogue))
    return ranked


def attention_lines(store: Store, period: Period, ranked: pd.DataFrame,
                    terrains: Mapping[str, pd.DataFrame]) -> list[str]:
    """The points that need the driehoek's attention, most important first."""
    lines = []
    if not ranked.empty:
        first = ranked.iloc[0]
        lines.append(f"Het hoogste risico ligt in {first['name']} (score {number(first['score'])},"
                     f" vooral {first['strongest_theme'].lower()}), gevolgd door "
                     f"{_names(ranked.iloc[1:], 2)}.")
    hotspots = hotspot_areas(store, period)
    if hotspots is not None:
        hot = hotspots[hotspots["category"] == "Hotspot"].merge(
            ranked[["code", "rank"]], on="code", how="left").sort_values("rank")
        if not hot.empty:
            lines.append(f"{len(hot)} buurten vormen samen een hotspot: hoge scores liggen daar "
                         f"naast elkaar, meer dan toeval verklaart ({_names(hot, 5)}).")
    emerging = emerging_areas(store, period)
    if emerging is not None:
        for label, why in (("Nieuwe hotspot", "is nieuw een hotspot"),
                           ("Toenemende hotspot", "is een hotspot die sterker wordt"),
                           ("Aanhoudende hotspot", "is al kwartalen een hotspot")):
            found = emerging[emerging["category"] == label]
            if not found.empty:
                verb = why if len(found) == 1 else why.replace("is ", "zijn ", 1).replace(
                    "een hotspot die sterker wordt", "hotspots die sterker worden").replace(
                    "een hotspot", "hotspots")
                lines.append(f"{_names(found, 4)} {verb}.")
    rising = ranked[ranked["change"] > 0].sort_values("change", ascending=False)
    if not rising.empty:
        best = rising.iloc[0]
        lines.append(f"Grootste stijger sinds {period - 1}: {best['name']} "
                     f"({signed(best['change'])} punten, nu rang {int(best['rank'])}).")
    return lines + highest_area_lines(terrains)


def decision_lines(q: QuarterOutput, ranked: pd.DataFrame) -> list[str]:
    """What the driehoek may discuss and decide: the proposed controles and the duiding."""
    capacity, exclude = q.config["targets.capacity"], q.config["targets.exclude_recent"]
    cells = target_cells(q.store, q.period, capacity, q.min_count, exclude)
    picked = cells[cells["pick"].notna()].sort_values("pick")
    lines = []
    if not picked.empty:
        areas = list(dict.fromkeys(picked["name"]))
        lines.append(f"Integrale controles: de doelenlijst stelt {integer(len(picked))} "
                     f"combinaties van gebied en risicobranche voor binnen {integer(capacity)} "
                     f"controles, te beginnen in {', '.join(areas[:3])} (doelenlijst.xlsx).")
    top = ranked.head(3)
    if not top.empty:
        lines.append(f"Duiding van {_names(top)} met wijkagent, regisseur en partners: past het "
                     f"beeld bij wat zij zien?")
    return lines


def theme_table(store: Store, period: Period, catalogue: list[Indicator]) -> Table:
    """Per phenomenon (theme), one row: where it is highest and how it moved since last
    quarter."""
    previous = period - 1
    table = Table(["Fenomeen", "Het hoogst in", f"Sinds {previous}"])
    for theme in themes_scored(store, period, "buurt"):
        areas = score_areas(store, period, "buurt", theme, catalogue)
        scored = areas[areas["score"].notna()].sort_values(["score", "code"],
                                                           ascending=[False, True])
        if scored.empty:
            continue
        change = scored.dropna(subset=["change"]).sort_values("change", ascending=False)
        if change.empty:
            moved = "geen vergelijking: dat kwartaal is niet berekend"
        else:
            up = int((change["change"] > BIG_CHANGE).sum())
            down = int((change["change"] < -BIG_CHANGE).sum())
            moved = f"{up} buurten gestegen en {down} gedaald (meer dan {integer(BIG_CHANGE)} punten)"
            best = change.iloc[0]
            if best["change"] > BIG_CHANGE:
                moved += f"; sterkste stijger {best['name']} ({signed(best['change'])})"
        table.rows.append([(THEME_LABELS.get(theme, theme), ""), (_names(scored), ""),
                           (moved, "")])
    return table


def _map_images(store: Store, period: Period, catalogue: list[Indicator], ranked: pd.DataFrame,
                guard: Guard) -> list[Image]:
    top = ranked.head(TOP)
    kept = [latest_areas(store, level) for level in analysis_levels()]
    terrains = pd.concat(kept) if kept else None
    overall = score_areas(store, period, "buurt", OVERALL, catalogue)
    figure, ax = _map_figure()
    hotspots = hotspot_areas(store, period)
    handles = outline_areas(ax, hotspots, HOTSPOT_COLOURS, "category") \
        if hotspots is not None else []
    draw_map(ax, overall, "score", "Totaalscore (0–100)", outlines=terrains, palette=PALETTE,
             extra=handles)
    label_areas(ax, overall, {row.code: str(int(row.rank)) for row in top.itertuples()})
    _name_list(figure, [f"{int(r.rank)}. {r.name}" for r in top.itertuples()])
    images = [_embed(figure, guard, "Totaalscore per buurt; de top 10 genummerd, Gi*-hotspots "
                     "omlijnd", _alt(ranked, hotspots))]
    emerging = emerging_areas(store, period)
    if emerging is not None:
        figure, ax = _map_figure()
        patterned = emerging[emerging["category"].isin(list(EMERGING_COLOURS))]
        draw_map(ax, emerging, "category", "Patroon over de kwartalen", outlines=terrains,
                 categories={**EMERGING_COLOURS, NO_PATTERN: QUIET},
                 missing_label=NOT_ANALYSED)
        label_areas(ax, patterned, {c: str(i) for i, c in enumerate(patterned["code"], 1)})
        _name_list(figure, [f"{i}. {name}" for i, name in enumerate(patterned["name"], 1)])
        images.append(_embed(figure, guard, "Opkomende hotspots over de berekende kwartalen",
                             "Kaart van de buurten met een patroon over de kwartalen: " +
                             _pattern_alt(emerging)))
    return images


def _name_list(figure: Figure, names: list[str]) -> None:
    """The names of the numbered areas, beside the map under its legend."""
    figure.text(0.745, 0.34, "\n".join(names[:12]), fontsize=7.5, va="top", ha="left",
                linespacing=1.4)


def _map_figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=MAP_SIZE, dpi=150)
    return figure, figure.add_axes((0.0, 0.02, 0.72, 0.96))


def _embed(figure: Figure, guard: Guard, title: str, alt: str) -> Image:
    return embed(figure, guard, title, dpi=150, alt=alt)


def _alt(ranked: pd.DataFrame, hotspots: pd.DataFrame | None) -> str:
    text = "Kaart van de totaalscore per buurt. Hoogste tien: " + ", ".join(
        f"{int(r.rank)}. {r.name}" for r in ranked.head(TOP).itertuples()) + "."
    if hotspots is not None:
        hot = hotspots.loc[hotspots["category"] == "Hotspot", "name"].tolist()
        text += f" Hotspots: {', '.join(hot) or 'geen'}."
    return text


def _pattern_alt(emerging: pd.DataFrame) -> str:
    found = emerging[emerging["category"].isin(list(EMERGING_COLOURS))]
    return "; ".join(f"{r.name}: {r.category.lower()}" for r in found.itertuples()) or "geen"


def track_record(q: QuarterOutput) -> tuple[list[str], Table]:
    """The ranking's track record (see :func:`riskmap.reports.trust.track_record_section`) and
    the bias audit's line on the poorest fifth of buurten; the table holds each ranking's mean
    over the quarters tested."""
    lines = list(track_record_section(q.store, q.period).lines)
    try:
        lines.append(poorest_lines(q.bias_audit(),
                                   q.min_count)[0])
    except RiskmapError as exc:
        lines.append(f"Biastoets: niet beschikbaar – {exc}.")
    table = stored_track_record(q.store, q.period)
    if table.empty:
        return lines, Table([])
    k = int(table["k"].iloc[0])
    means = table.groupby("method", sort=False)[["precision_at_k", "auc"]].mean()
    shown = pd.DataFrame({
        "Rangorde": [METHOD_LABELS[m] for m in means.index],
        f"Precisie in top-{k}": [number(v, 2) for v in means["precision_at_k"]],
        "AUC (0,5 = toeval)": [number(v, 2) for v in means["auc"]],
    })
    return lines, html_table(shown, BRIEFING_NAME, q.min_count)


def caveat_lines(store: Store, period: Period, min_count: int) -> list[str]:
    """Caveats, privacy and sources in one list."""
    lineage = lineage_table(store, period)
    sources = (f"Bronnen: {len(lineage)} ladingen ({', '.join(source_labels(lineage['Bron']))})"
               f"; volledige herkomst in bronnen.csv en de gebiedsanalyse van {period}.")
    return [*CAVEATS[1:], *suppression_lines(store, period, min_count)[1:], sources]


def _area_table(frame: pd.DataFrame, min_count: int, caption: str = "") -> Table:
    shown = pd.DataFrame({
        "Rang": frame["rank"].astype(int), "Buurt": frame["name"],
        "Totaalscore": frame["score_text"], "Rang 5–95%": frame["interval_text"],
        "Verandering": frame["change_text"], "Thema sterkste factor": frame["strongest_theme"],
        "Belangrijkste factoren": frame["drivers_text"].map(
            lambda text: "; ".join(text.split("; ")[:2])),
    })
    return html_table(shown, BRIEFING_NAME, min_count, caption=caption)


def briefing_html(q: QuarterOutput) -> str:
    """The briefing of a built quarter as one HTML page (images embedded)."""
    ranked = ranked_with_themes(q.store, q.period, q.catalogue)
    attention, choice = attention_order(ranked, q.store, q.period)
    terrains = area_tables(q.store, q.period, q.catalogue)
    note = (f"Volgorde: {RANKING_LABELS[choice.method]} (de rangorde die in de terugtoets het "
            f"best voorspelde). * Score mede berekend uit gegevens die wegens privacy niet "
            f"getoond worden.")
    rising = ranked[ranked["code"].isin(risers(ranked, 5)["Code"])].sort_values(
        "change", ascending=False)
    lines, track_table = track_record(q)
    def columns(level: str) -> list[str]:
        return ["Rang", level_label(level), "Totaalscore", "Gelegenheid", "Verandering", *COUNTS]

    context = {
        "title": f"Briefing driehoek – ondermijning {q.place} – {q.period}",
        "heading": f"Ondermijning in {q.place}: {q.period}",
        "subtitle": f"Briefing voor de driehoek · peildatum {long_date(q.period.end)}",
        "author": f"Gemeente {q.place} (riskmap)",
        "attention": attention_lines(q.store, q.period, attention, terrains),
        "decisions": decision_lines(q, ranked),
        "themes": theme_table(q.store, q.period, q.catalogue),
        "maps": _map_images(q.store, q.period, q.catalogue, ranked, q.guard),
        "top": _area_table(attention.head(TOP), q.min_count, note),
        "risers": _area_table(rising, q.min_count), "previous": str(q.period - 1),
        "area_tables": [(level_label(level, plural=True),
                         html_table(table[columns(level)], BRIEFING_NAME, q.min_count, COUNTS))
                        for level, table in terrains.items() if not table.empty],
        "track_record": lines, "track_table": track_table,
        "caveats": caveat_lines(q.store, q.period, q.min_count),
    }
    return template(TEMPLATE).render(**context)


def write_briefing(q: QuarterOutput) -> Path:
    """Write ``briefing_driehoek.pdf`` (PDF/UA-1, tagged) for a built quarter; returns its
    path."""
    path = write_html_pdf(briefing_html(q), q.folder / BRIEFING_NAME, q.guard)
    log.debug("%s geschreven", path)
    return path
