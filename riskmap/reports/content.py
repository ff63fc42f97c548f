"""What the gebiedsanalyse and the briefing say: tables and Dutch sentences from the store.

Tables come back with Dutch headers and raw counts in the columns named in :data:`COUNTS`; the
writers pass them through :func:`riskmap.indicators.privacy.public_table` before showing them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from riskmap.areatypes import analysis_levels, area_sql, area_types, level_label
from riskmap.fmt import MISSING, number, percent
from riskmap.indicators.build import OVERALL
from riskmap.indicators.business import ACTIVE
from riskmap.indicators.catalogue import THEME_LABELS, Indicator
from riskmap.indicators.privacy import threshold
from riskmap.indicators.values import UNAVAILABLE
from riskmap.maps.areas import score_areas, themes_scored
from riskmap.maps.patterns import EMERGING_COLOURS, emerging_areas, hotspot_areas
from riskmap.periods import Period
from riskmap.reports.outputs import lineage_table, reasons_text
from riskmap.store import Store

log = logging.getLogger(__name__)

COUNTS = ("Aantal vestigingen", "Aantal in risicobranches")
SUPPRESSED_MARK = "*"
CHANCE = "Kans op bevinding"
SOURCES = {"boundaries": "CBS wijk- en buurtkaart",
           **{t.source: t.plural.lower() for t in area_types().values()},
           "cbs": "CBS Kerncijfers wijken en buurten", "police": "politie (misdrijven per buurt)",
           "kvk": "KvK-handelsregister", "bag": "BAG-adressen"}
REASONS = {"klein aantal": "aantal onder de privacygrens",
           "kleine groep": "gaat over minder adressen of vestigingen dan de privacygrens",
           "bescherming": "zou samen met andere cijfers een klein aantal elders verraden",
           "kleine noemer": "noemer te klein voor een betrouwbaar cijfer"}


def ranked_areas(store: Store, period: Period, level: str,
                 catalogue: list[Indicator]) -> pd.DataFrame:
    """Scored areas of ``level`` with their texts and their highest theme, by rank."""
    frame = pd.DataFrame(score_areas(store, period, level, OVERALL, catalogue).drop(
        columns="geometry"))
    themes = {t: score_areas(store, period, level, t, catalogue).set_index("code")["score"]
              for t in themes_scored(store, period, level)}
    if themes:
        wide = pd.DataFrame(themes)
        # an area with no theme score (a buurt of water only) has no highest theme (pandas 3
        # refuses idxmax of a row without values)
        top = wide[wide.notna().any(axis=1)].idxmax(axis=1)
        frame["top_theme"] = frame["code"].map(top).map(lambda t: THEME_LABELS.get(t, MISSING))
    else:
        frame["top_theme"] = MISSING
    frame["score_text"] = [f"{text}{SUPPRESSED_MARK}" if flag is True else text
                           for text, flag in zip(frame["score_text"], frame["from_suppressed"],
                                                 strict=True)]
    return frame[frame["score"].notna()].sort_values(["rank", "code"]).reset_index(drop=True)


def _area_rows(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    rows = pd.DataFrame({
        "Rang": frame["rank"].astype(int), label: frame["name"], "Code": frame["code"],
        "Totaalscore": frame["score_text"], "Rang 5–95%": frame["interval_text"],
        "Verandering": frame["change_text"],
        "Hoogste thema": frame["top_theme"], "Belangrijkste factoren": frame["drivers_text"],
    })
    if "chance" in frame:  # ordered by a model's chance of a finding (see reports.trust)
        rows.insert(3, CHANCE, frame["chance"].map(lambda p: percent(p) if pd.notna(p)
                                                   else MISSING))
    return rows


def top_areas(ranked: pd.DataFrame, n: int = 10, label: str = "Buurt") -> pd.DataFrame:
    """The ``n`` areas with the highest overall score (Dutch headers)."""
    return _area_rows(ranked.head(n), label)


def risers(ranked: pd.DataFrame, n: int = 10, label: str = "Buurt") -> pd.DataFrame:
    """The ``n`` areas whose overall score rose most since the previous quarter."""
    rising = ranked[ranked["change"] > 0].sort_values(["change", "code"],
                                                     ascending=[False, True])
    return _area_rows(rising.head(n), label)


def terrain_table(store: Store, period: Period, catalogue: list[Indicator],
                  level: str = "bedrijventerrein") -> pd.DataFrame:
    """Analysis areas of ``level`` (bedrijventerreinen by default): scores, change, drivers, the
    score of the theme of analysis areas (gelegenheid) and establishment counts (raw counts)."""
    ranked = ranked_areas(store, period, level, catalogue)
    if ranked.empty:
        return pd.DataFrame()
    area = area_sql(level)
    rows = store.query(
        f"SELECT {area} AS code, branch IS NOT NULL AS risk FROM establishments "
        f"WHERE {ACTIVE} AND {area} IS NOT NULL", {"end": period.end})
    counts = rows.groupby("code").agg(total=("risk", "size"), risk=("risk", "sum"))
    table = _area_rows(ranked, level_label(level)).drop(columns="Hoogste thema")
    gelegenheid = score_areas(store, period, level, "gelegenheid",
                              catalogue).set_index("code")["score"]
    table.insert(4, "Gelegenheid", ranked["code"].map(gelegenheid).map(number))
    table[COUNTS[0]] = ranked["code"].map(counts["total"]).fillna(0).astype(int)
    table[COUNTS[1]] = ranked["code"].map(counts["risk"]).fillna(0).astype(int)
    return table


def area_tables(store: Store, period: Period,
                catalogue: list[Indicator]) -> dict[str, pd.DataFrame]:
    """:func:`terrain_table` of every analysis-area type, by level."""
    return {level: terrain_table(store, period, catalogue, level) for level in analysis_levels()}


def trend_scores(store: Store, period: Period, quarters: int = 4) -> pd.DataFrame:
    """Overall scores of buurten and analysis areas in the last ``quarters`` quarters.

    Columns: ``period, level, code, score, rank``; only quarters that were built appear.
    """
    periods = [str(period - k) for k in range(quarters - 1, -1, -1)]
    marks = ",".join("?" * len(periods))
    return store.query(
        f"SELECT period, level, area_code AS code, score, rank FROM scores WHERE theme = ? "
        f"AND level IN (SELECT unnest(?)) AND period IN ({marks}) "
        f"ORDER BY period, level, code", [OVERALL, ["buurt", *analysis_levels()], *periods])


def suppression_lines(store: Store, period: Period, min_count: int) -> list[str]:
    """Dutch sentences on what is not shown and why (for the report's privacy note)."""
    n = threshold(min_count)
    values = store.query("SELECT reason, count(*) AS n FROM indicator_values WHERE period = ? "
                         "AND suppressed GROUP BY reason ORDER BY reason", [str(period)])
    total = int(store.scalar("SELECT count(*) FROM indicator_values WHERE period = ?",
                             [str(period)]))
    from_suppressed = int(store.scalar("SELECT count(*) FROM scores WHERE period = ? AND "
                                       "theme = ? AND from_suppressed", [str(period), OVERALL]))
    lines = [f"Aantallen uit de eigen registers onder {n} staan overal als <{n}; een waarde uit "
             f"zo'n klein aantal, of met een te kleine noemer, wordt niet getoond (–). Aantallen "
             f"uit openbare registers (Handelsregister, BAG, CBS) staan er precies."]
    lines += [f"{number(r.n, 0)} van de {number(total, 0)} indicatorwaarden zijn niet getoond: "
              f"{REASONS.get(str(r.reason), str(r.reason))}." for r in values.itertuples()]
    lines.append(f"{from_suppressed} totaalscores zijn mede berekend uit niet getoonde waarden; "
                 f"zij zijn gemarkeerd met {SUPPRESSED_MARK}.")
    lines.append("Er staan geen namen, adressen, KvK-nummers of locaties van bedrijven of "
                 "gebeurtenissen in deze rapportage; kaarten tonen alleen gebieden.")
    return lines


def availability_lines(store: Store, period: Period, catalogue: list[Indicator]) -> list[str]:
    """Dutch sentences naming the indicators whose CBS variable the year's table lacks."""
    rows = store.query("SELECT DISTINCT indicator, reason FROM indicator_values WHERE period = ? "
                       "AND starts_with(reason, ?) ORDER BY indicator", [str(period), UNAVAILABLE])
    labels = {i.id: i.label for i in catalogue}
    return [f"{labels.get(r.indicator, r.indicator)}: {r.reason} – de CBS-tabel van dat jaar "
            f"heeft deze variabele niet; de indicator heeft geen waarden."
            for r in rows.itertuples()]


def source_label(source: str) -> str:
    """The Dutch name of a lineage source (``register:bibob`` -> ``register bibob``)."""
    return SOURCES.get(source, source.replace("register:", "register "))


def source_labels(sources: pd.Series) -> list[str]:
    """Dutch names of lineage sources, each once, in order."""
    return list(dict.fromkeys(source_label(s) for s in sources))


def lineage_rows(store: Store, period: Period) -> pd.DataFrame:
    """The loads of the quarter's build for reading: Dutch source names, file names, short
    hashes and reasons in words (full hashes, paths and load times are in ``bronnen.csv``)."""
    table = lineage_table(store, period)
    return pd.DataFrame({
        "Bron": table["Bron"].map(source_label),
        "Deel": table["Deel"],
        "Bestand": [Path(p).name if isinstance(p, str) else (t or MISSING)
                    for p, t in zip(table["Bestand"], table["CBS-tabel"], strict=True)],
        "SHA-256 (begin)": table["SHA-256"].map(lambda h: f"{h[:12]}…" if isinstance(h, str)
                                                else MISSING),
        "Regels gelezen": table["Regels gelezen"].map(lambda n: number(n, 0)),
        "Regels opgenomen": table["Regels opgenomen"].map(lambda n: number(n, 0)),
        "Regels afgewezen": table["Regels afgewezen"].map(lambda n: number(n, 0)),
        "Redenen van afwijzing": table["Redenen van afwijzing"].map(
            lambda text: reasons_text(text) or MISSING),
        "Bijzonderheden": table["Bijzonderheden"].map(lambda text: reasons_text(text) or MISSING),
    })


def build_settings(store: Store, period: Period) -> dict[str, object]:
    """The scoring settings of the latest build of ``period``."""
    row = store.query("SELECT settings FROM builds WHERE period = ? ORDER BY build_id DESC "
                      "LIMIT 1", [str(period)])
    return json.loads(row["settings"].iloc[0]) if not row.empty and row["settings"].iloc[0] \
        else {}


def pattern_lines(store: Store, period: Period) -> list[str]:
    """Dutch sentences on the Gi* hotspots and emerging hotspots (or that they are missing)."""
    lines = []
    hotspots = hotspot_areas(store, period)
    if hotspots is None:
        lines.append(f"Hotspots (Gi*): niet beschikbaar – nog niet berekend voor {period}.")
    else:
        counts = hotspots["category"].value_counts()
        found = [f"{int(counts[c])} {c.lower()}s" for c in ("Hotspot", "Coldspot") if c in counts]
        lines.append(f"Hotspots (Gi*, na FDR-correctie): {', '.join(found) or 'geen'} "
                     f"onder {int(hotspots['category'].notna().sum())} geanalyseerde buurten.")
    emerging = emerging_areas(store, period)
    if emerging is None:
        lines.append(f"Opkomende hotspots: niet beschikbaar – nog niet berekend t/m {period}.")
    else:
        patterned = emerging["category"].isin(list(EMERGING_COLOURS))
        counts = emerging.loc[patterned, "category"].value_counts()
        found = [f"{int(n)} × {c.lower()}" for c, n in counts.items()]
        lines.append(f"Opkomende hotspots: {', '.join(found) or 'geen buurten met een patroon'}.")
    return lines


def summary_lines(store: Store, period: Period, ranked: pd.DataFrame,
                  terrains: Mapping[str, pd.DataFrame]) -> list[str]:
    """The key messages of the quarter, in Dutch (``terrains``: :func:`area_tables`)."""
    levels = store.query("SELECT level, count(*) AS n FROM scores WHERE period = ? AND theme = ? "
                         "AND score IS NOT NULL GROUP BY level", [str(period), OVERALL])
    n = dict(zip(levels["level"], levels["n"], strict=True))
    areas = [f"{n.get('buurt', 0)} buurten", f"{n.get('wijk', 0)} wijken",
             *(f"{n.get(lv, 0)} {level_label(lv, plural=True).lower()}"
               for lv in analysis_levels() if lv == "bedrijventerrein" or n.get(lv))]
    lines = [f"Voor {period} hebben {', '.join(areas[:-1])} en {areas[-1]} een risicoscore."]
    if not ranked.empty:
        top = ranked.head(3)
        first = top.iloc[0]
        others = " en ".join(top["name"].iloc[1:])
        lines.append(f"Hoogste totaalscore: {first['name']} ({first['code']}, "
                     f"{number(first['score'])}), gevolgd door {others}.")
        rising = ranked[ranked["change"] > 0].sort_values("change", ascending=False)
        if not rising.empty:
            best = rising.iloc[0]
            lines.append(f"Grootste stijger t.o.v. {period - 1}: {best['name']} "
                         f"({best['change_text']}).")
        width = (ranked.head(10)["rank_high"] - ranked.head(10)["rank_low"]).mean()
        if pd.notna(width):
            lines.append(f"Rangen zijn onzeker: in de top 10 is het 5–95%-interval gemiddeld "
                         f"{number(width, 0)} plaatsen breed; kleine verschillen in rang "
                         f"betekenen weinig.")
    return lines + highest_area_lines(terrains) + pattern_lines(store, period)


def highest_area_lines(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Per analysis-area type with a ranked table: its area with the highest score."""
    lines = []
    for level, table in tables.items():
        if not table.empty:
            label = level_label(level)
            lines.append(f"{label} met de hoogste score: {table.iloc[0][label]} "
                         f"({table.iloc[0]['Totaalscore']}).")
    return lines
