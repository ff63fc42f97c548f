"""What every output that ranks says about the ranking itself: how much of each area's score
was known (coverage), how well the rankings predicted controles (track record), and how they
relate to income, benefits and migration background (bias audit).

Each ``*_section`` function returns a :class:`Section` — a Dutch title, sentences, a table with
Dutch headers (raw counts in the columns named in ``counts``, protected by the writer) and
optionally a figure — so the gebiedsanalyse, the briefing or any later layout can place it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from riskmap.fmt import number, percent
from riskmap.indicators.build import OVERALL
from riskmap.models.backtest import METHOD_LABELS, backtest_figure
from riskmap.models.ranking import (
    RANKING_LABELS,
    Choice,
    chosen_values,
    stored_choice,
    stored_track_record,
)
from riskmap.periods import Period
from riskmap.reports.bias import CONTEXT_LABELS, RANKING_NAMES, THEME, BiasAudit
from riskmap.reports.tables import LEVEL_LABELS
from riskmap.store import Store

BASELINES = ("last_quarter", "random")


@dataclass
class Section:
    """A titled part of a report: sentences, a table and an optional figure."""

    title: str
    lines: list[str]
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    counts: tuple[str, ...] = ()
    figure: Figure | None = None
    caption: str = ""


# --- coverage -------------------------------------------------------------------------------
def coverage_section(store: Store, period: Period) -> Section:
    """Which areas have a score, from how much of the weight, and why others have none."""
    rows = store.query(
        "SELECT s.level, s.area_code, a.name, s.score, s.coverage, s.coverage_note FROM scores s "
        "JOIN areas a ON a.code = s.area_code WHERE s.period = ? AND s.theme = ? QUALIFY "
        "row_number() OVER (PARTITION BY s.area_code ORDER BY a.year DESC) = 1 ORDER BY "
        "s.level, s.area_code", [str(period), OVERALL])
    lines = []
    for level, group in rows.groupby("level", sort=False):
        scored = group["score"].notna()
        partial = scored & (group["coverage"] < 0.999)
        lines.append(f"{LEVEL_LABELS.get(str(level), level)}: {int(scored.sum())} van "
                     f"{len(group)} met een totaalscore; {int(partial.sum())} daarvan uit een "
                     f"deel van de indicatoren (de rest ontbrak of was niet van toepassing).")
    lines.append("Een indicator die in een gebied niet van toepassing is (bijvoorbeeld per "
                 "inwoner waar bijna niemand woont) telt niet mee en telt nooit als 0; waar dat "
                 "kan, neemt dezelfde maat per adres of per vestiging zijn plaats in. Een gebied "
                 "krijgt geen score als te weinig van welke soort ook bekend is.")
    shown = rows[rows["score"].isna() | (rows["coverage"] < 0.999)]
    table = pd.DataFrame({
        "Niveau": shown["level"].map(LEVEL_LABELS), "Gebied": shown["name"],
        "Code": shown["area_code"],
        "Totaalscore": shown["score"].map(lambda v: "geen" if pd.isna(v) else number(v)),
        "Dekking (gewicht)": shown["coverage"].map(percent),
        "Toelichting": shown["coverage_note"].fillna("")})
    return Section("Dekking van de scores", lines, table.reset_index(drop=True),
                   caption="Gebieden zonder score of met een score uit een deel van het gewicht.")


# --- track record ---------------------------------------------------------------------------
def _mean(table: pd.DataFrame, method: str, column: str) -> float:
    values = table.loc[table["method"] == method, column]
    return float(values.mean()) if values.notna().any() else float("nan")


def _wilcoxon(table: pd.DataFrame, method: str, baseline: str) -> float:
    """Two-sided Wilcoxon signed-rank p-value of the per-quarter AUC differences."""
    pivot = table.pivot(index="period", columns="method", values="auc")
    if method not in pivot or baseline not in pivot:
        return float("nan")
    diff = (pivot[method] - pivot[baseline]).dropna()
    if len(diff) < 2 or (diff == 0).all():
        return float("nan")
    return float(stats.wilcoxon(diff, alternative="two-sided").pvalue)


@dataclass(frozen=True)
class Record:
    """Mean precision and AUC of the ranking the outputs used and of both baselines."""

    quarters: int
    ours: tuple[float, float]
    base: dict[str, tuple[float, float]]
    wins: int
    beats: bool
    p: float


def record_summary(table: pd.DataFrame) -> Record:
    """The means of a backtest table for the verdict (``chosen`` rows, else the score)."""
    quarterly = table[table["period"] != "gemiddeld"]
    used = "chosen" if (quarterly["method"] == "chosen").any() else "score"
    ours = (_mean(quarterly, used, "precision_at_k"), _mean(quarterly, used, "auc"))
    base = {b: (_mean(quarterly, b, "precision_at_k"), _mean(quarterly, b, "auc"))
            for b in BASELINES}
    pivot = quarterly.pivot(index="period", columns="method", values="auc")
    wins = int(((pivot[used] > pivot["last_quarter"]) & (pivot[used] > pivot["random"])).sum())
    beats = all(ours[0] > b[0] and ours[1] > b[1] for b in base.values())
    return Record(quarterly["period"].nunique(), ours, base, wins, beats,
                  _wilcoxon(quarterly, used, "last_quarter"))


def short_verdict(table: pd.DataFrame, choice: Choice) -> str:
    """One line for a briefing: the ranking used, its record and the verdict."""
    r = record_summary(table)
    verdict = "beter dan" if r.beats else "níet beter dan"
    return (f"Gebruikte rangorde: {RANKING_LABELS[choice.method]}. Terugtoets over {r.quarters} "
            f"kwartalen: precisie in de top {int(table['k'].iloc[0])} {number(r.ours[0], 2)}, "
            f"AUC {number(r.ours[1], 2)}; {verdict} 'vorig kwartaal' "
            f"({number(r.base['last_quarter'][0], 2)}; {number(r.base['last_quarter'][1], 2)}) en "
            f"willekeurig ({number(r.base['random'][0], 2)}; 0,50).")


def verdict_lines(table: pd.DataFrame, choice: Choice, k: int) -> list[str]:
    """A plain Dutch verdict on the ranking the outputs use against both baselines."""
    r = record_summary(table)
    n, ours, base, wins, beats, p = r.quarters, r.ours, r.base, r.wins, r.beats, r.p
    lines = [
        f"Gebruikte rangorde voor de toplijsten en de doelenlijst: {RANKING_LABELS[choice.method]}"
        f" — {choice.reason}.",
        f"Terugtoets over {n} kwartalen (rangorde van kwartaal t, controles van t+1, alleen "
        f"gegevens tot en met t): in de top {k} gemiddeld {number(ours[0] * k, 1)} gebieden met een "
        f"bevinding (precisie {number(ours[0], 2)}), AUC {number(ours[1], 2)}; 'bevindingen "
        f"vorig kwartaal' {number(base['last_quarter'][0], 2)} en "
        f"{number(base['last_quarter'][1], 2)}; willekeurig {number(base['random'][0], 2)} en "
        f"0,50.",
    ]
    test = f"Wilcoxon op de AUC per kwartaal, tweezijdig p = {number(p, 2)}"
    if beats and p < 0.05:
        lines.append(f"Oordeel: de rangorde doet het beter dan beide basislijnen (in {wins} van {n}"
                     f" kwartalen op AUC), en het verschil met 'vorig kwartaal' is "
                     f"geen toeval ({test}).")
    elif beats:
        lines.append(f"Oordeel: de rangorde doet het beter dan beide basislijnen (in {wins} van {n}"
                     f" kwartalen op AUC). Met {n} kwartalen is het verschil met 'bevindingen "
                     f"vorig kwartaal' nog geen hard bewijs ({test}); blijf het volgen.")
    else:
        lines.append(f"Oordeel: de rangorde doet het níet beter dan beide basislijnen (beter in "
                     f"{wins} van {n} kwartalen op AUC). Gebruik haar met terughoudendheid en "
                     f"weeg de bevindingen van vorig kwartaal zelf mee.")
    return lines


def track_record_section(store: Store, period: Period) -> Section:
    """The stored track record of ``period``: verdict, the table per quarter and the figure."""
    choice = stored_choice(store, period)
    table = stored_track_record(store, period)
    if table.empty:
        return Section("Terugtoets", [f"Terugtoets: niet beschikbaar – {choice.reason}."])
    k = int(table["k"].iloc[0])
    shown = table.assign(method=[
        f"{METHOD_LABELS[m]}: {RANKING_LABELS[c]}" if m == "chosen" and isinstance(c, str)
        else METHOD_LABELS[m] for m, c in zip(table["method"], table["chosen"], strict=True)])
    order = {m: i for i, m in enumerate(["chosen", "score", "model", "combined",
                                         "last_quarter", "random"])}
    shown = shown.assign(order=table["method"].map(order)).sort_values(["evaluated", "order"])
    frame = pd.DataFrame({
        "Controles in": shown["evaluated"], "Rangorde": shown["method"],
        f"Precisie top {k}": shown["precision_at_k"].map(lambda v: number(v, 2)),
        "AUC": shown["auc"].map(lambda v: number(v, 2)),
        "Gecontroleerde gebieden": shown["areas"], "Met bevinding": shown["positives"]})
    figure = backtest_figure(table.assign(period=table["period"]))
    return Section("Terugtoets: hoe goed voorspelde de rangorde?", verdict_lines(table, choice, k),
                   frame.reset_index(drop=True), ("Gecontroleerde gebieden", "Met bevinding"),
                   figure, "Precisie: aandeel gebieden met een bevinding onder de hoogst "
                   "gerangschikte gecontroleerde gebieden; AUC 0,5 = niet beter dan willekeurig.")


# --- bias audit -----------------------------------------------------------------------------
def _direction(rho: float) -> str:
    return "hoger" if rho > 0 else "lager"


def bias_lines(audit: BiasAudit, min_count: int) -> list[str]:
    """Key findings of the bias audit in plain Dutch."""
    lines = []
    correlated = audit.correlations[(audit.correlations["q"] < 0.05)
                                    & (audit.correlations["ranking"] != "variant")]
    for row in correlated.itertuples():
        lines.append(f"{RANKING_NAMES[row.ranking]} en {CONTEXT_LABELS[row.variable]}: "
                     f"rho {number(row.rho, 2)} (q = {number(row.q, 3)}): buurten met meer "
                     f"hiervan scoren {_direction(row.rho)}.")
    if correlated.empty:
        lines.append("Geen samenhang van score of gebruikte rangorde met inkomen, bijstand of "
                     "herkomst is significant na correctie voor meervoudig toetsen (q < 0,05).")
    lines += poorest_lines(audit, min_count)
    accuracy = audit.accuracy.groupby("ranking")[["precision_at_k", "auc"]].mean()
    if {"score", "variant"} <= set(accuracy.index):
        lines.append(f"Terugtoets zonder kwetsbaarheid ({audit.accuracy['period'].nunique()} "
                     f"kwartalen): AUC {number(accuracy.loc['variant', 'auc'], 2)} tegen "
                     f"{number(accuracy.loc['score', 'auc'], 2)} met; precisie "
                     f"{number(accuracy.loc['variant', 'precision_at_k'], 2)} tegen "
                     f"{number(accuracy.loc['score', 'precision_at_k'], 2)}.")
    return lines


def poorest_lines(audit: BiasAudit, min_count: int) -> list[str]:
    """The poorest fifth's share of targets against findings, with and without kwetsbaarheid."""
    shares = audit.poorest.set_index("what")

    def share(what: str) -> str:
        row = shares.loc[what]
        if what == "findings" and 0 < row["count"] < min_count:
            return f"<{min_count} bevindingen"
        return percent(row["share"]) if pd.notna(row["share"]) else "–"

    return [f"Armste vijfde van de buurten ({int(shares.loc['buurten', 'count'])} buurten, "
            f"hoogste aandeel huishoudens met een laag inkomen): {share('targets')} van de "
            f"geselecteerde controles (doelenlijst met de gebruikte rangorde bij "
            f"{int(audit.variant['capacity'])} controles; {share('targets_score')} met de "
            f"totaalscore), {share('findings')} van de bevindingen in de laatste vier kwartalen, "
            f"{share('establishments')} van de vestigingen in risicobranches.",
            f"Zonder het thema kwetsbaarheid: rangcorrelatie met de totaalscore "
            f"{number(audit.variant['rank_correlation'], 2)}; "
            f"{int(audit.variant['cells_changed'])} van de {int(audit.variant['cells_selected'])} "
            f"cellen die de totaalscore selecteert wisselen; de armste vijfde kreeg dan "
            f"{share('targets_variant')} van de controles."]


def bias_section(audit: BiasAudit, min_count: int) -> Section:
    """The bias audit as a report section: key lines and the correlation table."""
    corr = audit.correlations
    table = pd.DataFrame({
        "Rangorde": corr["ranking"].map(RANKING_NAMES),
        "Kenmerk van de buurt (CBS)": corr["variable"].map(CONTEXT_LABELS),
        "Buurten": corr["n"], "Spearman rho": corr["rho"].map(lambda v: number(v, 2)),
        "p (tweezijdig)": corr["p"].map(lambda v: number(v, 3)),
        "q (FDR)": corr["q"].map(lambda v: number(v, 3))})
    return Section(f"Biastoets {audit.period}", bias_lines(audit, min_count), table,
                   caption=f"Spearman-correlatie per buurt; q: Benjamini–Hochberg over alle "
                   f"{len(corr)} toetsen. 'Zonder {THEME}': de totaalscore met dat thema op "
                   f"gewicht 0.")


def attention_order(ranked: pd.DataFrame, store: Store, period: Period) -> tuple[pd.DataFrame,
                                                                                  Choice]:
    """``ranked`` (areas with their score texts) ordered by the ranking the track record chose,
    with its rank in ``rank``; unranked areas last."""
    choice = stored_choice(store, period)
    values = ranked["code"].map(chosen_values(store, period, choice.method)) \
        if choice.method != "score" else pd.Series(dtype=float)
    if values.isna().all():  # the score, or no stored chances for this quarter
        return ranked, choice
    order = values.rank(ascending=False, method="first", na_option="bottom")
    out = ranked.assign(rank=order.astype("Int64"), chance=values)
    out = out.sort_values("rank", na_position="last").reset_index(drop=True)
    return out, choice
