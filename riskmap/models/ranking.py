r"""Which ranking drives attention: the score, the hit-rate model, or a combination of the score
with recent findings and signals, chosen by its track record on held-out quarters.

The *combined* ranking is a :class:`~riskmap.models.supervised.HitRateModel` (L2 logistic
regression, regularisation chosen by cross-validation grouped by wijk, Platt calibration) on a few
features of an area at the end of quarter :math:`t`:

* ``score``: the overall score of :math:`t` as a percentile rank among the areas;
* ``hit_rate``: the share of its controles with a finding in the four quarters up to :math:`t`,
  shrunk towards the gemeente's share with :data:`PRIOR_CONTROLES` pseudo-controles (an area
  without controles gets the gemeente's share);
* ``findings``: :math:`\log(1 + h)` with :math:`h` the controles with a finding in :math:`t`;
* ``controles``: :math:`\log(1 + c)` with :math:`c` the controles in the four quarters up to
  :math:`t` (where controles went, as the regisseur chose them);
* ``signals``: register signals (meldingen, hennep, maatregelen, Bibob) in the 12 months up to
  :math:`t` per address, as a percentile rank.

It learns from one row per area and quarter :math:`q \le t` in which the area was controlled:
the features of :math:`q - 1` and whether a controle in :math:`q` found something, so it is
fitted on the past only and checked on the quarter after, like the other rankings in the
backtest (:mod:`riskmap.models.backtest`).

The ranking shown as *the* ranking (top lists, target list) is the candidate of
:data:`CANDIDATES` with the highest mean AUC over the backtest quarters whose controles are known
by the quarter in question (ties: mean precision at k), compared on the quarters shared by the
candidates with at least :data:`MIN_EVIDENCE` such quarters (one quarter of a few dozen
controlled areas is too noisy to switch on); without two such candidates it is the score. AUC
rather than precision at k decides because it uses the whole order of the controlled areas, not
the few at the top.
Its own track record, choosing each quarter with the quarters before it only, is the backtest's
``chosen`` row.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmap.fmt import number
from riskmap.indicators.scoring import normalise
from riskmap.models.supervised import (
    FOUND,
    MODEL_NAME,
    HitRateModel,
    QuarterData,
    area_groups,
    check_training_quarters,
    controle_outcomes,
    controle_quarters,
)
from riskmap.periods import Period
from riskmap.store import Store

log = logging.getLogger(__name__)

COMBINED_NAME = "combined_logistic"
CANDIDATES = ("score", "model", "combined")
MIN_EVIDENCE = 2
PRIOR_CONTROLES = 2.0
HISTORY = 4
SIGNAL_KINDS = ("meldingen", "hennep", "maatregelen", "bibob")
FEATURE_LABELS = {"score": "totaalscore", "hit_rate": "aandeel controles met bevinding",
                  "findings": "bevindingen vorig kwartaal", "controles": "eerdere controles",
                  "signals": "signalen uit de registers"}
RANKING_LABELS = {"score": "de totaalscore", "model": "het model (kans op bevinding)",
                  "combined": "de gecombineerde rangorde (score, bevindingen en signalen)"}


@dataclass(frozen=True)
class Choice:
    """The ranking chosen for a quarter, why (Dutch), and the means it was chosen on."""

    method: str
    reason: str
    means: pd.DataFrame


def _controle_history(store: Store, level: str, period: Period) -> pd.DataFrame:
    """Controles and findings per area in the :data:`HISTORY` quarters up to ``period``."""
    first = (period - (HISTORY - 1)).start
    return store.query(
        f"SELECT {level} AS area_code, count(*) AS controles, count(*) FILTER (WHERE outcome = ?) "
        f"AS found FROM events WHERE kind = 'controles' AND date BETWEEN ? AND ? AND {level} IS "
        f"NOT NULL GROUP BY 1", [FOUND, first, period.end]).set_index("area_code")


def _signals(store: Store, level: str, period: Period, codes: pd.Index) -> pd.Series:
    """Register signals in the 12 months up to ``period`` per address of each area."""
    first, end = period.window(12)
    kinds = ", ".join(f"'{k}'" for k in SIGNAL_KINDS)
    events = store.query(f"SELECT {level} AS area_code, count(*) AS n FROM events WHERE kind IN "
                         f"({kinds}) AND date BETWEEN ? AND ? AND {level} IS NOT NULL GROUP BY 1",
                         [first, end]).set_index("area_code")["n"]
    addresses = store.query(f"SELECT {level} AS area_code, count(*) AS n FROM addresses WHERE "
                            f"{level} IS NOT NULL GROUP BY 1").set_index("area_code")["n"]
    return events.reindex(codes).fillna(0) / addresses.reindex(codes).where(
        addresses.reindex(codes) > 0)


class CombinedData:
    """The combined ranking's features per quarter, computed once (see the module notes)."""

    def __init__(self, store: Store, data: QuarterData) -> None:
        self.store, self.data = store, data
        self._features: dict[Period, pd.DataFrame] = {}

    def features(self, period: Period) -> pd.DataFrame:
        """The features per area at the end of ``period``; missing where unknown (the model
        counts a missing value as the middle)."""
        if period not in self._features:
            self._features[period] = self._compute(period)
        return self._features[period]

    def reading(self, store: Store) -> CombinedData:
        """This data, reading what it has not computed yet from ``store`` (in a forked process,
        its own connection; what the process sets here stays in its copy of the data)."""
        self.store = self.data.store = store
        return self

    def computed(self, period: Period) -> tuple[tuple[pd.DataFrame, pd.DataFrame, pd.Series],
                                                pd.DataFrame]:
        """Everything of ``period``, computed here (see :meth:`adopt`)."""
        return self.data.computed(period), self.features(period)

    def adopt(self, period: Period, computed: tuple[tuple[pd.DataFrame, pd.DataFrame, pd.Series],
                                                    pd.DataFrame]) -> None:
        """Take what :meth:`computed` gave for ``period`` elsewhere as computed here."""
        self.data.adopt(period, computed[0])
        self._features[period] = computed[1]

    def _compute(self, period: Period) -> pd.DataFrame:
        store, level = self.store, self.data.level
        codes = self.data.features(period).index
        history = _controle_history(store, level, period).reindex(codes).fillna(0)
        base = (history["found"].sum() + 1) / (history["controles"].sum() + 2)
        last = controle_outcomes(store, level, period)["found"].reindex(codes).fillna(0)
        frame = pd.DataFrame({
            "score": self.data.overall(period).reindex(codes),
            "hit_rate": (history["found"] + PRIOR_CONTROLES * base)
            / (history["controles"] + PRIOR_CONTROLES),
            "findings": np.log1p(last), "controles": np.log1p(history["controles"]),
            "signals": _signals(store, level, period, codes)}, index=codes)
        frame[["score", "signals"]] = normalise(frame[["score", "signals"]], "percentile")
        return frame


def combined_training(store: Store, data: CombinedData,
                      last: Period) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """One row per area and quarter up to ``last`` with controles: the features of the quarter
    before, whether a controle found something, and the area's wijk (for grouped CV)."""
    groups = area_groups(store, data.data.level)
    frames, found, wijk = [], [], []
    quarters = [q for q in controle_quarters(store) if q <= last]
    for quarter in quarters[1:]:
        outcomes = controle_outcomes(store, data.data.level, quarter)
        if outcomes.empty:
            continue
        features = data.features(quarter - 1)
        frames.append(features.reindex(outcomes.index).reset_index(drop=True))
        found.append(pd.Series(outcomes["found"].to_numpy() > 0))
        wijk.append(pd.Series(outcomes.index.map(groups)))
    check_training_quarters(store, last, len(frames))
    return (pd.concat(frames, ignore_index=True), pd.concat(found, ignore_index=True),
            pd.concat(wijk, ignore_index=True))


def fit_combined(store: Store, data: CombinedData, last: Period, seed: int = 0) -> HitRateModel:
    """The combined ranking fitted on every controlled area-quarter up to ``last``."""
    features, found, groups = combined_training(store, data, last)
    return HitRateModel(seed=seed).fit(features, found, groups)


def combined_predictions(store: Store, data: CombinedData, period: Period,
                         seed: int = 0) -> pd.DataFrame:
    """Chance of a finding in the quarter after ``period`` per area from the combined ranking:
    ``area_code, probability, rank, explanation`` (explanations: Dutch feature names)."""
    model = fit_combined(store, data, period, seed)
    features = data.features(period)
    explanation = model.explain(features).map(
        lambda ids: json.dumps([FEATURE_LABELS[i] for i in json.loads(ids)]))
    frame = pd.DataFrame({"probability": model.predict_proba(features),
                          "explanation": explanation})
    frame["rank"] = frame["probability"].rank(ascending=False, method="first").astype(int)
    return frame.rename_axis("area_code").reset_index()


def choose(table: pd.DataFrame, period: Period) -> Choice:
    """The ranking for ``period``: the candidate with the best mean AUC on the backtest quarters
    whose controles are known by ``period`` (``evaluated <= period``), compared on the quarters
    they share (see the module notes). ``table`` is a :func:`~riskmap.models.backtest.backtest`
    table."""
    rows = table[(table["evaluated"] <= str(period)) & table["method"].isin(CANDIDATES)
                 & (table["period"] != "gemiddeld")]
    known = rows.dropna(subset=["auc"]).pivot(index="period", columns="method", values="auc")
    eligible = [m for m in known.columns if known[m].notna().sum() >= MIN_EVIDENCE]
    shared = known[eligible].dropna()
    if len(shared) < MIN_EVIDENCE or len(eligible) < 2:
        return Choice("score", f"de terugtoets heeft nog geen {MIN_EVIDENCE} kwartalen met "
                      f"bekende uitkomsten voor meer dan één rangorde; de totaalscore wordt "
                      f"gebruikt", pd.DataFrame())
    auc = shared.mean()
    precision = rows[rows["period"].isin(shared.index)].groupby("method")["precision_at_k"].mean()
    means = pd.DataFrame({"auc": auc, "precision_at_k": precision.reindex(auc.index)})
    best = means.sort_values(["auc", "precision_at_k"], ascending=False).index[0]
    others = "; ".join(f"{RANKING_LABELS[m]} {number(means.loc[m, 'auc'], 2)}"
                       for m in means.index if m != best)
    reason = (f"{RANKING_LABELS[best]} had de hoogste gemiddelde AUC "
              f"({number(means.loc[best, 'auc'], 2)}) in de terugtoets over {len(shared)} "
              f"kwarta{'al' if len(shared) == 1 else 'len'} tot en met {period}"
              + (f" ({others})" if others else ""))
    return Choice(str(best), reason, means)


def chosen_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The track record of the choice itself: per backtest quarter, the metrics of the ranking
    :func:`choose` picks with the quarters before it only (column ``chosen`` names it)."""
    rows = []
    for period in table["period"].drop_duplicates():
        choice = choose(table, Period.parse(period))
        picked = table[(table["period"] == period) & (table["method"] == choice.method)]
        rows.append(picked.assign(method="chosen", chosen=choice.method))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


PREDICTION_MODELS = {"model": MODEL_NAME, "combined": COMBINED_NAME}
NO_RECORD = ("er is voor dit kwartaal geen terugtoets opgeslagen (`riskmap track-record`); de "
             "totaalscore wordt gebruikt")


def stored_choice(store: Store, period: Period) -> Choice:
    """The ranking chosen for ``period`` by its stored track record (``riskmap track-record``);
    the score, saying so, where there is none."""
    row = store.query("SELECT summary FROM runs WHERE kind = 'track_record' AND period = ? "
                      "ORDER BY run_id DESC LIMIT 1", [str(period)])
    if row.empty:
        return Choice("score", NO_RECORD, pd.DataFrame())
    summary = json.loads(row["summary"].iloc[0])
    return Choice(summary["chosen"], summary["reason"], pd.DataFrame(summary["means"]).T)


def stored_track_record(store: Store, period: Period, level: str = "buurt") -> pd.DataFrame:
    """The stored backtest of the track record for ``period`` (rows of its latest run)."""
    return store.query(
        "SELECT * EXCLUDE (run_id) FROM backtests WHERE level = ? AND run_id = (SELECT max(run_id) "
        "FROM runs WHERE kind = 'track_record' AND period = ?) ORDER BY period, method",
        [level, str(period)])


def chosen_values(store: Store, period: Period, method: str, level: str = "buurt") -> pd.Series:
    """Per area of ``level``, the value the chosen ranking orders by (higher first): the overall
    score, or the stored chance of a finding of the model or the combined ranking."""
    if method == "score":
        frame = store.query("SELECT area_code, score AS value FROM scores WHERE period = ? AND "
                            "level = ? AND theme = 'totaal'", [str(period), level])
    else:
        frame = store.query("SELECT area_code, probability AS value FROM predictions WHERE "
                            "period = ? AND level = ? AND model = ?",
                            [str(period), level, PREDICTION_MODELS[method]])
    return frame.set_index("area_code")["value"].astype(float)
