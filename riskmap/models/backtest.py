r"""Backtest: does what was known at the end of quarter :math:`t` rank the areas where
integrale controles in quarter :math:`t + 1` found something?

For each quarter :math:`t` the areas are ranked four ways, each with data up to :math:`t` only:

* ``score``: the overall score of :math:`t` (computed from the sources as a build would, without
  the uncertainty draws);
* ``model``: the :class:`~riskmap.models.supervised.HitRateModel` fitted on the controles up to
  :math:`t`;
* ``combined``: the score with recent findings and signals
  (:mod:`riskmap.models.ranking`), fitted on the area-quarters up to :math:`t`;
* ``last_quarter``: the number of controles with a finding in :math:`t` (a baseline);
* ``random``: a random order (a baseline; its expected value is reported, not one draw);
* ``chosen``: the one of score, model and combined that the quarters before had shown best
  (:func:`riskmap.models.ranking.choose`): the track record of the ranking the outputs use.

They are evaluated on the areas controlled in :math:`t + 1` (an area is positive when at least
one of its controles found something). Areas without a score are ranked last.

Notes
-----
Precision at :math:`k` is the share of positives among the :math:`k` highest-ranked evaluated
areas; where ties straddle the cut-off, the tied areas count pro rata (the expected precision
under random tie-breaking). AUC is the probability that a random positive area ranks above a
random negative one, ties counting one half:

.. math:: \mathrm{AUC} = \frac{1}{n_+ n_-} \sum_{i \in +} \sum_{j \in -}
          \bigl(\mathbb 1[s_i > s_j] + \tfrac12 \mathbb 1[s_i = s_j]\bigr).

For the random ranking the expectations are :math:`n_+ / n` and :math:`1/2`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from riskmap.config import Config
from riskmap.errors import InputError, RiskmapError
from riskmap.indicators.catalogue import Indicator
from riskmap.indicators.privacy import Guard, write_csv, write_figure
from riskmap.models.metrics import precision_at_k, ranking_auc
from riskmap.models.ranking import CombinedData, chosen_rows, fit_combined
from riskmap.models.supervised import QuarterData, controle_outcomes, fit_hit_rate_model
from riskmap.periods import Period, quarters
from riskmap.store import Store

log = logging.getLogger(__name__)

METHODS = ("score", "model", "combined", "last_quarter", "random")
METHOD_LABELS = {"score": "Totaalscore", "model": "Model (kans op bevinding)",
                 "combined": "Gecombineerd (score, bevindingen, signalen)",
                 "last_quarter": "Vorig kwartaal (gebieden met bevindingen)",
                 "random": "Willekeurig (verwachting)",
                 "chosen": "Gebruikte rangorde (beste tot dan toe)"}
HEADERS = {"period": "Kwartaal van de rangorde", "evaluated": "Kwartaal van de controles",
           "method": "Methode", "precision_at_k": "Precisie in top-k", "auc": "AUC",
           "areas": "Gecontroleerde gebieden", "positives": "Gebieden met bevinding", "k": "k"}
MEAN = "gemiddeld"


@dataclass(frozen=True)
class BacktestResult:
    """A backtest table (see :func:`backtest`) and the files it was written to, by name."""

    table: pd.DataFrame
    outputs: dict[str, Path]


def _metrics(method: str, positive: np.ndarray, score: np.ndarray, k: int) -> tuple[float, float]:
    if method == "random":
        return float(positive.mean()), 0.5
    if np.isnan(score).all():
        return float("nan"), float("nan")
    return precision_at_k(positive, score, k), ranking_auc(positive, score)


def rankings(store: Store, config: Config, data: CombinedData, period: Period,
             codes: pd.Index) -> dict[str, pd.Series]:
    """Score, model and combined chances, and last quarter's findings of ``codes`` at the end
    of ``period``."""
    quarter = data.data
    found = controle_outcomes(store, quarter.level, period)["found"]
    out = {"score": quarter.overall(period).reindex(codes),
           "last_quarter": found.reindex(codes).fillna(0.0)}
    seed = config["scoring.seed"]
    fits = {"model": lambda: fit_hit_rate_model(store, quarter.level, period, quarter.features,
                                                seed).predict_proba(quarter.features(period)),
            "combined": lambda: fit_combined(store, data, period, seed)
            .predict_proba(data.features(period))}
    for method, fit in fits.items():
        try:
            out[method] = fit().reindex(codes)
        except RiskmapError as exc:
            log.debug("terugtoets %s: geen %s (%s)", period, method, exc)
            out[method] = pd.Series(np.nan, index=codes)
    return out


def check_k(k: int) -> None:
    """Refuse a top-k of fewer than one area."""
    if k < 1:
        raise InputError(f"k moet minstens 1 zijn, niet {k}")


def evaluated_quarters(store: Store, level: str, first: Period,
                       last: Period) -> dict[Period, pd.DataFrame]:
    """The controle outcomes of the quarter after each of ``first`` .. ``last`` (refused where
    one has none)."""
    evaluated = {period: controle_outcomes(store, level, period + 1)
                 for period in quarters(first, last)}
    empty = [str(period + 1) for period, outcomes in evaluated.items() if outcomes.empty]
    if empty:
        raise InputError(f"geen controles in {', '.join(empty)} om het kwartaal ervoor aan te "
                         f"toetsen; kies kwartalen tot het kwartaal vóór de laatste controles")
    return evaluated


def backtest(store: Store, catalogue: list[Indicator], config: Config, first: Period,
             last: Period, level: str = "buurt", k: int = 10) -> pd.DataFrame:
    """Precision at ``k`` and AUC of each ranking, per quarter ``first`` .. ``last``.

    Returns
    -------
    pd.DataFrame
        One row per quarter and method: ``period, evaluated, method, k, precision_at_k, auc,
        areas, positives, chosen`` (``chosen``: for the ``chosen`` rows, the ranking picked),
        then one ``gemiddeld`` row per method (means over the quarters).
    """
    check_k(k)
    evaluated = evaluated_quarters(store, level, first, last)
    combined = CombinedData(store, QuarterData(store, catalogue, config, level))
    return backtest_table_of(evaluated, {
        period: rankings(store, config, combined, period, outcomes.index)
        for period, outcomes in evaluated.items()}, k)


def backtest_table_of(evaluated: dict[Period, pd.DataFrame],
                      ranked: dict[Period, dict[str, pd.Series]], k: int) -> pd.DataFrame:
    """The backtest table (see :func:`backtest`) of the outcomes and each quarter's
    :func:`rankings`."""
    rows = []
    for period, outcomes in evaluated.items():
        positive = (outcomes["found"] > 0).to_numpy()
        common = {"period": str(period), "evaluated": str(period + 1), "k": k,
                  "areas": len(outcomes), "positives": int(positive.sum())}
        for method in METHODS:
            score = ranked[period].get(method, pd.Series(np.nan, index=outcomes.index))
            precision, auc = _metrics(method, positive, score.to_numpy(float), k)
            rows.append({**common, "method": method, "precision_at_k": precision, "auc": auc})
    table = pd.DataFrame(rows).assign(chosen=None)
    table = pd.concat([table, chosen_rows(table)], ignore_index=True)
    means = table.groupby("method", sort=False)[["precision_at_k", "auc"]].mean().reset_index()
    means = means.assign(period=MEAN, evaluated=MEAN, k=k)
    table = pd.concat([table, means], ignore_index=True)
    _log_summary(means)
    return table


def _log_summary(means: pd.DataFrame) -> None:
    log.debug("backtest means: %s", "; ".join(
        f"{row.method} precision@{row.k} {row.precision_at_k:.2f}, AUC {row.auc:.2f}"
        for row in means.itertuples()))


def backtest_table(table: pd.DataFrame) -> pd.DataFrame:
    """The backtest with Dutch headers and method names, rounded, for export."""
    labels = [METHOD_LABELS[m] if m != "chosen" or not isinstance(c, str)
              else f"{METHOD_LABELS[m]}: {METHOD_LABELS[c].lower()}"
              for m, c in zip(table["method"], table["chosen"], strict=True)]
    shown = table.assign(method=labels,
                         precision_at_k=table["precision_at_k"].round(3),
                         auc=table["auc"].round(3))
    return shown[list(HEADERS)].rename(columns=HEADERS)


def backtest_figure(table: pd.DataFrame) -> Figure:
    """Precision at k and AUC per evaluated quarter, one line per method."""
    quarterly = table[table["period"] != MEAN]
    figure = Figure(figsize=(10, 4))
    axes = figure.subplots(1, 2, sharex=True)
    for method in (*METHODS, "chosen"):
        rows = quarterly[quarterly["method"] == method]
        for axis, column in zip(axes, ("precision_at_k", "auc"), strict=True):
            axis.plot(rows["evaluated"], rows[column], marker="o", label=METHOD_LABELS[method],
                      linestyle="--" if method == "random" else "-",
                      linewidth=3 if method == "chosen" else 1.5, alpha=0.6 if method == "chosen"
                      else 1.0)
    k = int(table["k"].iloc[0])
    axes[0].set_title(f"Precisie in de top-{k} gecontroleerde gebieden")
    axes[1].set_title("AUC (0,5 = niet beter dan willekeurig)")
    for axis in axes:
        axis.set_ylim(0, 1.02)
        axis.set_xlabel("Kwartaal van de controles")
        axis.grid(alpha=0.3)
    axes[1].legend(loc="lower right", fontsize=8)
    figure.suptitle("Terugtoets: voorspelt de rangorde waar controles iets vinden?")
    figure.tight_layout()
    return figure


def write_backtest(table: pd.DataFrame, folder: Path, guard: Guard,
                   min_count: int = 5) -> dict[str, Path]:
    """Write the backtest table (CSV) and figure (PNG) through the privacy writers."""
    stem = f"terugtoets_{table['period'].iloc[0]}_{table[table['period'] != MEAN]['period'].iloc[-1]}"
    csv = write_csv(backtest_table(table), folder / f"{stem}.csv", guard,
                    counts=[HEADERS["areas"], HEADERS["positives"]], min_count=min_count)
    figure = backtest_figure(table)
    png = write_figure(figure, folder / f"{stem}.png", guard, dpi=120)
    return {"tabel": csv, "grafiek": png}
