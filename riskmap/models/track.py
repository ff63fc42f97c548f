"""The track record and the hit-rate model's predictions from the store, written back to it.

As the runs of :mod:`riskmap.models.runs` (with a row in ``runs`` each), in a module of their
own: they need the rankings, the hit-rate model and matplotlib (for the backtest's figures),
which hotspots do not (importing them was 0.6 of the 3.9 s of a national Gi* run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from riskmap._forked import side_by_side_with
from riskmap.config import Config
from riskmap.errors import InputError, RiskmapError
from riskmap.indicators.catalogue import Indicator
from riskmap.models.backtest import MEAN, backtest_table_of, check_k, evaluated_quarters, rankings
from riskmap.models.ranking import COMBINED_NAME, Choice, CombinedData, choose, combined_predictions
from riskmap.models.runs import new_run
from riskmap.models.supervised import (
    MODEL_NAME,
    HitRateModel,
    QuarterData,
    controle_outcomes,
    controle_quarters,
    predictions,
)
from riskmap.periods import Period, quarters
from riskmap.store import Store

log = logging.getLogger(__name__)


def run_predictions(store: Store, catalogue: list[Indicator], config: Config, period: Period,
                    level: str = "buurt") -> pd.DataFrame:
    """Fit the hit-rate model on controles up to ``period`` and store each area's chance of a
    finding in the next quarter (table ``predictions``)."""
    frame, model = predictions(store, catalogue, config, period, level)
    frame = frame.assign(level=level, period=str(period), target_period=str(period + 1),
                         model=MODEL_NAME)
    settings = {"level": level, "model": MODEL_NAME, "strength": model.strength_,
                "features": model.features_, "seed": config["scoring.seed"]}
    summary = {"cv_auc": model.cv_auc_, "cv_brier": model.cv_brier_,
               "cv_log_loss": model.cv_log_loss_, "base_rate": model.base_rate_,
               "coefficients": {k: float(v) for k, v in model.coefficients_.items()
                                if np.isfinite(v)}}
    with store.transaction():
        store.con.execute("DELETE FROM predictions WHERE level = ? AND period = ? AND model = ?",
                          [level, str(period), MODEL_NAME])
        run_id = new_run(store, "predictions", str(period), settings, summary)
        store.insert("predictions", frame.assign(run_id=run_id))
    return frame.assign(run_id=run_id)


# The track record covers at most this many quarters before the one it is for.
TRACK_QUARTERS = 8


def track_quarters(store: Store, period: Period, level: str) -> list[Period]:
    """The quarters before ``period`` (at most :data:`TRACK_QUARTERS`) whose next quarter has
    controles, from the first with register data on."""
    first = max(controle_quarters(store)[0], period - TRACK_QUARTERS)
    return [q for q in quarters(first, period - 1)
            if not controle_outcomes(store, level, q + 1).empty]


@dataclass
class TrackRecord:
    """A track record computed by :func:`computed_track_record`, not stored yet: the backtest
    table, the ranking chosen, the hit-rate model and both rankings' chances for the quarter
    after ``period``."""

    period: Period
    level: str
    k: int
    quarters: list[Period]
    table: pd.DataFrame
    choice: Choice
    model: HitRateModel
    chances: pd.DataFrame


def computed_track_record(open_store: Callable[[], AbstractContextManager[Store]],
                          catalogue: list[Indicator], config: Config, period: Period,
                          level: str = "buurt", k: int = 10,
                          memory_each: int = 0) -> TrackRecord:
    """Backtest the quarters before ``period``, choose the ranking for ``period`` and fit the
    model's and the combined ranking's chances for the quarter after it, reading the store
    that ``open_store()`` opens (read only).

    The quarters' data are computed first, then each backtest quarter's rankings and the
    chances, each step side by side in forked processes where possible
    (:func:`riskmap._forked.side_by_side_with`, ``memory_each`` bytes per process): the same
    results as one after the other.
    """
    check_k(k)
    with open_store() as store:
        periods = track_quarters(store, period, level)
        if not periods:
            raise InputError(f"geen kwartaal vóór {period} met controles in het kwartaal erna; "
                             f"een terugtoets vraagt controles in minstens twee kwartalen")
        evaluated = evaluated_quarters(store, level, periods[0], periods[-1])
        # the quarters the rankings read: each one ranked, and the one before each controle
        used = sorted({q - 1 for q in controle_quarters(store)[1:] if q <= period}
                      | {*periods, period})
        combined = CombinedData(store, QuarterData(store, catalogue, config, level))

    def prepared(quarter: Period, store: Store) -> Any:
        try:
            return combined.reading(store).computed(quarter)
        except RiskmapError:
            return None  # raised again where a ranking reads it, which says what it lacks

    for quarter, computed in zip(used, side_by_side_with(
            open_store, [partial(prepared, q) for q in used], memory_each), strict=True):
        if computed is not None:
            combined.adopt(quarter, computed)
    seed = config["scoring.seed"]

    def ranked(quarter: Period, store: Store) -> Any:
        return rankings(store, config, combined.reading(store), quarter,
                        evaluated[quarter].index)

    def model(store: Store) -> Any:
        return predictions(store, catalogue, config, period, level, combined.reading(store).data)

    def chances(store: Store) -> Any:
        return combined_predictions(store, combined.reading(store), period, seed)

    works: list[Callable[[Store], Any]] = [*(partial(ranked, q) for q in evaluated), model,
                                           chances]
    *ranks, (model_frame, fitted), combined_frame = side_by_side_with(open_store, works,
                                                                      memory_each)
    table = backtest_table_of(evaluated, dict(zip(evaluated, ranks, strict=True)), k)
    frames = [model_frame.assign(model=MODEL_NAME), combined_frame.assign(model=COMBINED_NAME)]
    return TrackRecord(period, level, k, periods, table, choose(table, period), fitted,
                       pd.concat(frames, ignore_index=True))


def store_track_record(store: Store, record: TrackRecord, config: Config) -> pd.DataFrame:
    """Store a computed track record: the backtest (table ``backtests``), the chances for the
    quarter after its quarter (``predictions``) and the ranking chosen (``runs``), replacing
    those of an earlier run. Returns the backtest table."""
    period, level, table, choice = record.period, record.level, record.table, record.choice
    settings = {"level": level, "k": record.k, "quarters": [str(q) for q in record.quarters],
                "seed": config["scoring.seed"], "strength": record.model.strength_}
    summary = {"chosen": choice.method, "reason": choice.reason,
               "means": table[table["period"] == MEAN].set_index("method")[
                   ["precision_at_k", "auc"]].to_dict(orient="index")}
    stored = table[table["period"] != MEAN].assign(level=level)
    with store.transaction():
        store.con.execute("DELETE FROM backtests WHERE level = ? AND period IN (SELECT "
                          "unnest(?::VARCHAR[]))", [level, [str(q) for q in record.quarters]])
        store.con.execute("DELETE FROM predictions WHERE level = ? AND period = ? AND model IN "
                          "(?, ?)", [level, str(period), MODEL_NAME, COMBINED_NAME])
        run_id = new_run(store, "track_record", str(period), settings, summary)
        store.insert("backtests", stored.assign(run_id=run_id))
        store.insert("predictions", record.chances.assign(
            level=level, period=str(period), target_period=str(period + 1), run_id=run_id))
    log.info("rangorde voor %s: %s", period, choice.reason)
    return table
