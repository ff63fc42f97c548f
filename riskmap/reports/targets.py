r"""Target lists for integrale controles: area × risk-branch cells, ranked and selected.

A *cell* is one area (a bedrijventerrein, or else the buurt) and one risk branch, with the
establishments of that branch active there at the end of the quarter. Each cell gets a priority

.. math:: p = r_{\text{gebied}} \times f_{\text{branche}}

where :math:`r` comes from the ranking the quarter's track record chose
(:func:`riskmap.models.ranking.stored_choice`): the expected hit rate of the hit-rate model or of
the combined ranking where that one did best in the backtest, else the area's overall score /
100 (when the model covers only some areas, e.g. buurten and not bedrijventerreinen, the others'
score / 100 is rescaled to the mean of the model's rates over the areas that have both); without
a stored track record, the score. :math:`f` is how much more
often controles in that branch found something than controles in general (last 8 quarters,
whole gemeente, shrunk towards 1 with one pseudo-controle per outcome; 1 when the branch had fewer
controles than the privacy minimum).

The capacity *N* is a number of controles (visits to establishments, the unit of the controles
register); a selected cell uses one visit per establishment in it. Selection is greedy: the cell
with the highest priority that still fits is picked, and each pick halves the priority of the
other cells in the same area and in the same branch, so effort spreads over areas and branches.
Areas with a controle in the last *Q* quarters are skipped (they stay in the list, marked).

What a cell shows: its establishments (public, from the trade register, exact) and, for its
area, the share of controles with findings in 12 months — the area's indicator value, hidden
where the quarter's protection hides it (:mod:`riskmap.indicators.release`). Controles are not
shown per branch: nearly all such counts are below the privacy minimum, and each would be one
more relation to protect.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from riskmap.areatypes import AREA_COLUMN, analysis_levels, level_label
from riskmap.branches import risk_branches
from riskmap.errors import InputError
from riskmap.fmt import integer, number, percent, short_date
from riskmap.indicators.build import OVERALL
from riskmap.indicators.business import ACTIVE
from riskmap.indicators.privacy import hidden_text, public_table, threshold, write_csv, write_xlsx
from riskmap.models.ranking import RANKING_LABELS, Choice, chosen_values, stored_choice
from riskmap.periods import Period
from riskmap.reports.quarter import QuarterOutput
from riskmap.reports.tables import LEVEL_LABELS
from riskmap.store import Store

log = logging.getLogger(__name__)

SPREAD = 0.5  # factor on a cell's priority per earlier pick in the same area or branch
HISTORY_QUARTERS = 4
BRANCH_QUARTERS = 8
HIT_RATE = "controles_bevinding"
# Sensitive counts the target list shows (none: establishments are public, controles per area
# are shown as the area's protected indicator value).
COUNT_COLUMNS: tuple[str, ...] = ()
HEADERS = {
    "pick": "Keuze", "rank": "Rang", "level": "Niveau", "area_code": "Code", "name": "Gebied",
    "branch_label": "Branche", "establishments": "Aantal vestigingen",
    "hit_rate": "Controles met bevinding in gebied (12 mnd, %)", "score": "Totaalscore gebied",
    "area_rank": "Rang gebied", "expected": "Verwachte trefkans gebied (gekozen rangorde, %)",
    "branch_factor": "Factor branche", "priority": "Prioriteit (100 = hoogste)",
    "spread": "Prioriteit na spreiding",
    "last": "Laatst gecontroleerd (gebied)",
    "status": "Status",
}
# Excel number formats of the numeric columns (Excel shows them with the user's separators).
NUMBER_FORMATS = {HEADERS["score"]: "0.0", HEADERS["expected"]: "0", HEADERS["branch_factor"]:
                  "0.00", HEADERS["priority"]: "0.0", HEADERS["spread"]: "0.0",
                  **dict.fromkeys(COUNT_COLUMNS, "#,##0")}


def target_area() -> str:
    """The area of a cell: the first analysis area a point lies in (types in configuration
    order), else its buurt."""
    return f"coalesce({AREA_COLUMN}[1], buurt)"


def _areas_text() -> str:
    """``bedrijventerrein of vakantiepark`` (the analysis-area types, in Dutch)."""
    return " of ".join(level_label(level).lower() for level in analysis_levels())


def branch_cells(store: Store, period: Period) -> pd.DataFrame:
    """Active establishments at the end of ``period`` per area and risk branch.

    Columns: ``area_code, branch, establishments`` (a count; not yet through privacy). Read
    once per open read-only store (:meth:`~riskmap.store.Store.cached`): the bias audit ranks
    the cells three times, and the target list, written in a process forked after it, again.
    """
    def counted() -> pd.DataFrame:
        rows = store.query(
            f"SELECT {target_area()} AS area_code, branch FROM establishments "
            f"WHERE {ACTIVE} AND {target_area()} IS NOT NULL AND branch IS NOT NULL",
            {"end": period.end})
        return (rows.groupby(["area_code", "branch"]).size().rename("establishments")
                .reset_index())
    return store.cached(("branch_cells", str(period)), counted).copy()


def control_history(store: Store, period: Period, quarters: int) -> pd.DataFrame:
    """Controles per area and branch in the ``quarters`` quarters ending at ``period``.

    Columns: ``area_code, branch, controls, hits, last`` (``last`` = latest quarter with one).
    Read once per open read-only store, as :func:`branch_cells`.
    """
    def counted() -> pd.DataFrame:
        first = (period - (quarters - 1)).start
        rows = store.query(
            f"SELECT {target_area()} AS area_code, branch, date, outcome FROM events "
            f"WHERE kind = 'controles' AND date BETWEEN ? AND ?", [first, period.end])
        rows["hit"] = rows["outcome"].astype(str).str.lower().eq("ja")
        rows["quarter"] = [str(Period.of(d)) for d in pd.to_datetime(rows["date"]).dt.date]
        return (rows.groupby(["area_code", "branch"], dropna=False)
                .agg(controls=("hit", "size"), hits=("hit", "sum"), last=("quarter", "max"))
                .reset_index())
    return store.cached(("control_history", str(period), quarters), counted).copy()


def branch_factors(store: Store, period: Period, min_count: int) -> pd.Series:
    """Per branch: the smoothed hit rate of its controles relative to all controles."""
    history = control_history(store, period, BRANCH_QUARTERS)
    per_branch = history.groupby("branch")[["controls", "hits"]].sum()
    overall = (per_branch["hits"].sum() + 1) / (per_branch["controls"].sum() + 2)
    rate = (per_branch["hits"] + 1) / (per_branch["controls"] + 2)
    factor = (rate / overall).where(per_branch["controls"] >= threshold(min_count), 1.0)
    return factor.reindex(list(risk_branches())).fillna(1.0)


def _area_scores(store: Store, period: Period) -> pd.DataFrame:
    scores = store.query(
        "SELECT s.area_code, s.level, s.score, s.rank, a.name FROM scores s JOIN areas a "
        "ON a.code = s.area_code WHERE s.period = ? AND s.theme = ? AND s.level IN "
        "(SELECT unnest(?)) QUALIFY row_number() OVER (PARTITION BY s.area_code "
        "ORDER BY a.year DESC) = 1", [str(period), OVERALL, ["buurt", *analysis_levels()]])
    method = stored_choice(store, period).method
    expected = pd.Series(dtype=float) if method == "score" else \
        chosen_values(store, period, method)
    return scores.assign(expected=scores["area_code"].map(expected))


def ranked_cells(store: Store, period: Period, min_count: int, exclude_recent: int = 1,
                 areas: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every area × branch cell with establishments, ranked by priority (highest first).

    Columns: ``area_code, name, level, branch, establishments, hit_rate, last, score,
    area_rank, expected, branch_factor, priority, recent, rank``; ``hit_rate`` is the area's
    protected share of controles with findings (text), ``last`` the latest quarter with a
    controle anywhere in the area (last 4 quarters). ``areas`` (``area_code, level, score,
    rank, name, expected``) replaces the stored scores and the chosen ranking, e.g. to see what
    another ranking would select.
    """
    areas = _area_scores(store, period) if areas is None else areas
    cells = branch_cells(store, period).merge(areas, on="area_code")
    history = control_history(store, period, HISTORY_QUARTERS)
    cells["last"] = cells["area_code"].map(history.groupby("area_code")["last"].max())
    cells["hit_rate"] = cells["area_code"].map(area_hit_rates(store, period, min_count)).fillna("–")
    cells["branch_factor"] = cells["branch"].map(branch_factors(store, period, min_count))
    cells["priority"] = (area_rate(cells) * cells["branch_factor"]).fillna(0.0)
    cells["recent"] = cells["area_code"].isin(recently_controlled(store, period, exclude_recent))
    cells = cells.rename(columns={"rank": "area_rank"}).sort_values(
        ["priority", "establishments", "area_code", "branch"],
        ascending=[False, False, True, True]).reset_index(drop=True)
    cells["rank"] = np.arange(1, len(cells) + 1)
    return cells


def area_hit_rates(store: Store, period: Period, min_count: int) -> pd.Series:
    """Per area: the share of controles with findings (12 months) as shown, or why not."""
    values = store.query("SELECT area_code, value, suppressed, reason FROM indicator_values "
                         "WHERE period = ? AND indicator = ? AND level IN (SELECT unnest(?))",
                         [str(period), HIT_RATE, ["buurt", *analysis_levels()]])
    text = [hidden_text(reason, min_count) if hidden else number(value)
            for value, hidden, reason in zip(values["value"], values["suppressed"],
                                             values["reason"], strict=True)]
    return pd.Series(text, index=values["area_code"], dtype=object).fillna("–")


def area_rate(cells: pd.DataFrame) -> pd.Series:
    """The area term of the priority: the model's rate, else score / 100 on the model's scale."""
    rate = cells["score"] / 100
    both = cells["expected"].notna() & rate.notna()
    if not both.any():
        return rate
    return cells["expected"].fillna(rate * cells.loc[both, "expected"].mean() /
                                    rate[both].mean())


def recently_controlled(store: Store, period: Period, quarters: int) -> set[str]:
    """Areas with at least one controle in the ``quarters`` quarters ending at ``period``."""
    if quarters <= 0:
        return set()
    first = (period - (quarters - 1)).start
    rows = store.query(f"SELECT DISTINCT {target_area()} AS area_code FROM events "
                       f"WHERE kind = 'controles' AND date BETWEEN ? AND ?", [first, period.end])
    return set(rows["area_code"].dropna())


def select_cells(cells: pd.DataFrame, capacity: int) -> pd.DataFrame:
    """The pick order of the selected cells and every cell's priority after spreading.

    Greedy within ``capacity`` visits: the cell with the highest adjusted priority whose
    establishments still fit is picked; each pick multiplies the priority of the remaining cells
    in the same area, and in the same branch, by :data:`SPREAD`. Cells in recently controlled
    areas or with priority 0 are never picked.

    Returns
    -------
    pd.DataFrame
        Indexed like ``cells``: ``pick`` (1, 2, ... for the selected cells, ``NA`` for the
        others) and ``spread``, the priority after spreading: at the moment of the pick for a
        selected cell, when the capacity ran out for the others (``NaN`` for skipped cells).
    """
    # numpy arrays and integer codes: a national release has 100,000 cells and thousands of
    # picks, each of which rescales the cells of its area and branch
    eligible = (~cells["recent"] & (cells["priority"] > 0)).to_numpy(bool)
    adjusted = np.where(eligible, cells["priority"].to_numpy(float), 0.0)
    spread = np.where(eligible, adjusted, np.nan)
    size = cells["establishments"].to_numpy(float)
    # per cell its area and branch, and the positions of the cells of each (no missing one)
    groups = [(cells[column].to_numpy(object), cells.groupby(column).indices)
              for column in ("area_code", "branch")]
    picks = np.zeros(len(cells), dtype=np.int64)  # 0: not picked
    # the adjusted priorities of the cells that still fit (0 for the others): a cell that no
    # longer fits never will, so each is set to 0 once, largest first, as the capacity runs out
    fits = adjusted.copy()
    largest = np.argsort(-size, kind="stable")
    smaller = -size[largest]  # ascending: how many cells are larger than what remains
    too_large = 0
    remaining, order = capacity, 0
    while len(cells):
        now = int(np.searchsorted(smaller, -remaining, side="left"))
        fits[largest[too_large:now]] = 0.0
        too_large = now
        best = int(np.argmax(fits))  # the first of the highest, as in the ranking's order
        if fits[best] <= 0:
            break
        order += 1
        picks[best] = order
        spread[best] = adjusted[best]
        remaining -= int(size[best])
        adjusted[best] = fits[best] = 0.0
        for keys, members in groups:
            if keys[best] in members:  # a missing area or branch is like no other
                same = members[keys[best]]
                adjusted[same] *= SPREAD
                fits[same] *= SPREAD
    waiting = eligible & (picks == 0)
    spread[waiting] = adjusted[waiting]
    return pd.DataFrame({"pick": pd.Series(picks, index=cells.index, dtype="Int64").where(
        picks > 0), "spread": pd.Series(spread, index=cells.index)})


def target_cells(store: Store, period: Period, capacity: int, min_count: int,
                 exclude_recent: int = 1) -> pd.DataFrame:
    """The ranked cells of ``period`` with their pick order (``pick``) within ``capacity``.

    Parameters
    ----------
    store
        The project's store, with scores built for ``period``.
    period
        The quarter whose scores and controles are used.
    capacity
        How many controles (visits to establishments) can be done.
    min_count
        The privacy minimum (counts below it are shown as ``<5`` when written).
    exclude_recent
        Skip areas with a controle in this many quarters up to and including ``period``
        (0 = skip none).
    """
    if capacity < 1:
        raise InputError(f"de capaciteit moet minstens 1 controle zijn, niet {capacity}")
    if exclude_recent < 0:
        raise InputError(f"exclude_recent moet 0 of meer kwartalen zijn, niet {exclude_recent}")
    cells = ranked_cells(store, period, min_count, exclude_recent)
    if cells.empty:
        raise InputError(f"{period}: geen gebied met een score heeft vestigingen in een risicobranche")
    cells[["pick", "spread"]] = select_cells(cells, capacity)
    log.debug("doelenlijst %s: %s cellen, %s gekozen (capaciteit %s bezoeken, %s gebieden "
             "overgeslagen als recent gecontroleerd)", period, integer(len(cells)),
             integer(cells["pick"].notna().sum()), integer(capacity),
             integer(cells.loc[cells["recent"], "area_code"].nunique()))
    return cells


def targets_table(cells: pd.DataFrame, period: Period, exclude_recent: int) -> pd.DataFrame:
    """The target list with Dutch headers: the selection first, then every other cell by rank.

    ``cells`` comes from :func:`target_cells`; counts are still raw (the writers protect them).
    """
    first = period - (exclude_recent - 1)
    skipped = str(period) if exclude_recent == 1 else f"{first}–{period}"
    labels = {key: branch.label for key, branch in risk_branches().items()}
    top = cells["priority"].max()
    out = cells.assign(
        level=cells["level"].map(LEVEL_LABELS), branch_label=cells["branch"].map(labels),
        area_rank=cells["area_rank"].astype("Int64"),
        score=cells["score"].round(1),
        expected=(100 * cells["expected"]).round(0),
        branch_factor=cells["branch_factor"].round(2),
        priority=(100 * cells["priority"] / top).round(1),
        spread=(100 * cells["spread"] / top).round(1),
        last=cells["last"].fillna("–"),
        status=[_status(pick, recent, skipped) for pick, recent in
                zip(cells["pick"], cells["recent"], strict=True)])
    out = out.sort_values(["pick", "rank"], na_position="last")
    return out[list(HEADERS)].rename(columns=HEADERS).reset_index(drop=True)


def _status(pick: object, recent: bool, skipped: str) -> str:
    if pd.notna(pick):
        return "geselecteerd"
    if recent:
        return f"overgeslagen: gebied gecontroleerd in {skipped}"
    return "niet gekozen (past niet meer in de capaciteit)"


def capacity_line(cells: pd.DataFrame, capacity: int) -> str:
    """How the capacity was used: visits in the selection, what is left and why it stays
    unused (``cells`` from :func:`target_cells`)."""
    picked = cells["pick"].notna()
    used = int(cells.loc[picked, "establishments"].sum())
    left = capacity - used
    text = (f"Capaciteit: {integer(used)} van de {integer(capacity)} controles ingepland "
            f"({percent(used / capacity)}) in {integer(picked.sum())} cellen")
    if left <= 0:
        return text + "; de capaciteit is volledig gebruikt."
    waiting = cells.loc[~picked & ~cells["recent"] & (cells["priority"] > 0), "establishments"]
    if waiting.empty:
        return text + f"; {integer(left)} blijven over: er is geen andere cel om te kiezen."
    return (text + f"; {integer(left)} blijven over: de kleinste overgebleven cel vraagt "
            f"{integer(waiting.min())} bezoeken.")


def targets_notes(period: Period, capacity: int, exclude_recent: int, choice: Choice,
                  usage: str, min_count: int) -> list[str]:
    """The Dutch explanation that goes with a target list (``usage``: :func:`capacity_line`)."""
    base = (f"de verwachte trefkans van het gebied volgens {RANKING_LABELS[choice.method]} "
            f"(voor gebieden zonder voorspelling: de totaalscore / 100, herschaald naar het "
            f"gemiddelde van de voorspelde kansen)" if choice.method != "score" else
            "de totaalscore van het gebied / 100")
    first = period - (exclude_recent - 1)
    skipped = ("Er zijn geen recent gecontroleerde gebieden overgeslagen." if not exclude_recent
               else f"Gebieden met een controle in {period} zijn overgeslagen."
               if exclude_recent == 1 else f"Gebieden met een controle in de laatste "
               f"{exclude_recent} kwartalen ({first} t/m {period}) zijn overgeslagen.")
    return [
        f"Doelenlijst integrale controles {period}: cellen van gebied ({_areas_text()}, anders "
        f"buurt) × risicobranche met actieve vestigingen op {short_date(period.end)}.",
        f"Gebruikte rangorde: {RANKING_LABELS[choice.method]}, want {choice.reason}.",
        f"Prioriteit = {base} × factor branche. De factor branche is hoe vaak controles in die "
        f"branche iets vonden ten opzichte van alle controles (laatste {BRANCH_QUARTERS} "
        f"kwartalen, hele gemeente; 1 bij te weinig controles).",
        f"Selectie binnen een capaciteit van {capacity} controles (bezoeken aan vestigingen; "
        f"een cel vraagt een bezoek per vestiging): steeds de cel met de hoogste prioriteit die "
        f"nog past; elke keuze halveert de prioriteit van andere cellen in hetzelfde gebied en "
        f"in dezelfde branche, zodat de inzet gespreid wordt. {skipped}",
        "Daarom volgt de keuze niet precies de rang: 'Prioriteit na spreiding' is de prioriteit "
        "op het moment van kiezen (bij niet gekozen cellen: toen de capaciteit op was), naast "
        "de oorspronkelijke 'Prioriteit'.",
        usage,
        "Het aantal vestigingen komt uit het openbare Handelsregister en staat er precies. "
        f"Controles met bevinding staan per gebied ({_areas_text()}, anders buurt) als "
        f"percentage, beschermd zoals alle cijfers uit de eigen registers: <{threshold(min_count)} "
        "bij een klein aantal, – waar het getal een klein aantal elders zou verraden.",
        "Een hoge prioriteit is een aanwijzing om te kijken, geen bewijs dat er iets mis is bij "
        "een vestiging.",
    ]


def target_list(q: QuarterOutput, capacity: int, exclude_recent: int = 1) -> pd.DataFrame:
    """The target list as shown to others (counts below the minimum read ``<5``)."""
    cells = target_cells(q.store, q.period, capacity, q.min_count, exclude_recent)
    return public_table(targets_table(cells, q.period, exclude_recent), "doelenlijst",
                        COUNT_COLUMNS, q.min_count)


def write_targets(q: QuarterOutput, capacity: int, exclude_recent: int = 1) -> dict[str, Path]:
    """Write ``doelenlijst.csv`` and ``doelenlijst.xlsx`` (selection, all cells, explanation).

    In the workbook numbers are numbers, with an autofilter and a frozen header on the table
    sheets.
    """
    cells = target_cells(q.store, q.period, capacity, q.min_count, exclude_recent)
    table = targets_table(cells, q.period, exclude_recent)
    usage = capacity_line(cells, capacity)
    log.info(usage)
    notes = pd.DataFrame({"Toelichting": targets_notes(
        q.period, capacity, exclude_recent, stored_choice(q.store, q.period), usage,
        q.min_count)})
    selected = table[table["Status"] == "geselecteerd"]
    xlsx = write_xlsx({"Selectie": selected, "Alle cellen": table, "Toelichting": notes},
                      q.folder / "doelenlijst.xlsx", q.guard, COUNT_COLUMNS, q.min_count,
                      NUMBER_FORMATS)
    return {
        "doelenlijst": write_csv(table, q.folder / "doelenlijst.csv", q.guard, COUNT_COLUMNS,
                                 q.min_count),
        "doelenlijst_xlsx": xlsx,
    }
