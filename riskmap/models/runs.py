"""Hotspots, emerging hotspots and model predictions from the store, written back to it.

Each function here reads what it needs from the store, runs a model from this package and
stores the result in one transaction together with a row in ``runs`` (kind, period, settings,
summary and the loads it was built from). Running the same analysis again replaces its rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.config import Config
from riskmap.errors import InputError, StoreError
from riskmap.indicators.catalogue import Indicator
from riskmap.models.backtest import MEAN, backtest
from riskmap.models.emerging import MIN_PERIODS, EmergingHotspots
from riskmap.models.hotspots import hotspot_table
from riskmap.models.ranking import COMBINED_NAME, CombinedData, choose, combined_predictions
from riskmap.models.supervised import (
    MODEL_NAME,
    QuarterData,
    controle_outcomes,
    controle_quarters,
    predictions,
)
from riskmap.models.variables import GRID_LEVELS, check_level, default_variable, level_areas, variable_values
from riskmap.models.weights import Neighbours, band_neighbours, queen_neighbours
from riskmap.periods import Period, quarters
from riskmap.store import Store

log = logging.getLogger(__name__)

# Grid cells are neighbours when their centres are at most 1.5 cells apart: the 8 around them.
BAND = 1.5


def _new_run(store: Store, kind: str, period: str | None, settings: dict[str, Any],
             summary: dict[str, Any]) -> int:
    """Insert a ``runs`` row (inside the caller's transaction) and return its id."""
    run_id = int(store.scalar("SELECT coalesce(max(run_id), 0) + 1 FROM runs"))
    loads = store.lineage()["load_id"].tolist()
    store.con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                      [run_id, kind, period, json.dumps(settings), json.dumps(summary),
                       datetime.now(), json.dumps(loads)])
    return run_id


def _neighbours(areas: gpd.GeoDataFrame, level: str, codes: pd.Index) -> Neighbours:
    areas = areas[areas["code"].isin(codes)]
    if level in GRID_LEVELS:
        return band_neighbours(areas, BAND * GRID_LEVELS[level])
    return queen_neighbours(areas)


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Show only errors of the loggers ``names`` for the duration of a ``with`` block."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def hotspots_of(store: Store, config: Config, period: Period, variable: str | None = None,
                level: str = "buurt", method: str = "gi_star", alpha: float = 0.05,
                permutations: int | None = None) -> tuple[pd.DataFrame, Neighbours]:
    """Hot and cold spots of ``variable`` in ``period`` (not stored), and the weights used."""
    variable = variable or default_variable(level)
    areas = level_areas(store, check_level(level))
    values = variable_values(store, level, period, variable, pd.Index(areas["code"]))
    neighbours = _neighbours(areas, level, values.dropna().index)
    table = hotspot_table(values, neighbours, method, alpha, permutations, config["scoring.seed"])
    return table.assign(level=level, period=str(period), variable=variable, method=method), \
        neighbours


def run_hotspots(store: Store, config: Config, period: Period, variable: str | None = None,
                 level: str = "buurt", method: str = "gi_star", alpha: float = 0.05,
                 permutations: int | None = None) -> pd.DataFrame:
    """Compute and store hot and cold spots (table ``hotspots``); returns the stored rows."""
    table, neighbours = hotspots_of(store, config, period, variable, level, method, alpha,
                                    permutations)
    variable = str(table["variable"].iloc[0])
    settings = {"level": level, "variable": variable, "method": method, "alpha": alpha,
                "permutations": table.attrs["permutations"], "seed": config["scoring.seed"],
                "weights": "distance band" if level in GRID_LEVELS else "queen"}
    summary = {"categories": table["category"].value_counts().to_dict(),
               "islands": neighbours.islands, "components": neighbours.components}
    with store.transaction():
        store.con.execute("DELETE FROM hotspots WHERE level = ? AND period = ? AND variable = ? "
                          "AND method = ?", [level, str(period), variable, method])
        run_id = _new_run(store, "hotspots", str(period), settings, summary)
        store.insert("hotspots", table.assign(run_id=run_id))
    return table.assign(run_id=run_id)


def built_quarters(store: Store, level: str) -> list[Period]:
    """The quarters with stored scores for ``level``, in order."""
    frame = store.query("SELECT DISTINCT period FROM scores WHERE level = ? ORDER BY period",
                        [level])
    return [Period.parse(p) for p in frame["period"]]


def _emerging_quarters(store: Store, level: str, first: Period | None,
                       last: Period | None) -> list[Period]:
    if level in GRID_LEVELS:
        if first is None or last is None:
            raise InputError("opkomende hotspots op het raster vragen een eerste en een laatste "
                             "kwartaal (--from en --to)")
        return quarters(first, last)
    built = built_quarters(store, level)
    if not built:
        raise StoreError(f"{store.path}: nog niets berekend voor {level}; draai eerst "
                         f"`riskmap kwartaal --period ...`")
    chosen = quarters(first or built[0], last or built[-1])
    missing = [str(q) for q in chosen if q not in built]
    if missing:
        raise StoreError(f"{store.path}: kwartaal/kwartalen {', '.join(missing)} niet berekend voor "
                         f"{level}; draai `riskmap build --period ...` voor elk")
    return chosen


def run_emerging(store: Store, config: Config, first: Period | None = None,
                 last: Period | None = None, variable: str | None = None, level: str = "buurt",
                 alpha: float = 0.05, permutations: int | None = None) -> pd.DataFrame:
    """Gi* per quarter ``first`` .. ``last`` (default: every built quarter), classified into
    emerging hotspot categories and stored (table ``emerging_hotspots``)."""
    periods = _emerging_quarters(store, check_level(level), first, last)
    if len(periods) < MIN_PERIODS:
        raise InputError(f"opkomende hotspots vragen minstens {MIN_PERIODS} kwartalen; er zijn er "
                         f"{len(periods)} ({', '.join(map(str, periods))})")
    variable = variable or default_variable(level)
    with _quiet("riskmap.models.weights", "riskmap.models.hotspots"):
        # the per-quarter Gi* runs repeat what the quarter's own hotspot run already reported
        tables = [hotspots_of(store, config, q, variable, level, "gi_star", alpha,
                              permutations)[0] for q in periods]
    long = pd.concat(tables, ignore_index=True)
    z = long.pivot(index="area_code", columns="period", values="z")
    hot = long.assign(hot=long["category"] == "hotspot").pivot(
        index="area_code", columns="period", values="hot").astype(bool)
    result = EmergingHotspots().fit(z, hot).to_frame().assign(
        level=level, variable=variable, first_period=str(periods[0]),
        last_period=str(periods[-1]))
    settings = {"level": level, "variable": variable, "alpha": alpha,
                "permutations": permutations, "seed": config["scoring.seed"],
                "periods": [str(q) for q in periods]}
    summary = {"categories": result["category"].value_counts().to_dict()}
    with store.transaction():
        store.con.execute("DELETE FROM emerging_hotspots WHERE level = ? AND variable = ? AND "
                          "first_period = ? AND last_period = ?",
                          [level, variable, str(periods[0]), str(periods[-1])])
        run_id = _new_run(store, "emerging_hotspots", str(periods[-1]), settings, summary)
        store.insert("emerging_hotspots", result.assign(run_id=run_id))
    log.debug("emerging hotspots %s..%s: %s", periods[0], periods[-1],
             ", ".join(f"{n} {c}" for c, n in summary["categories"].items()))
    return result.assign(run_id=run_id)


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
        run_id = _new_run(store, "predictions", str(period), settings, summary)
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


def run_track_record(store: Store, catalogue: list[Indicator], config: Config, period: Period,
                     level: str = "buurt", k: int = 10) -> pd.DataFrame:
    """Backtest the quarters before ``period`` (table ``backtests``), store the model's and the
    combined ranking's chances for the quarter after ``period`` (table ``predictions``) and the
    ranking chosen for ``period`` (``runs``). Returns the backtest table."""
    data = QuarterData(store, catalogue, config, level)
    periods = track_quarters(store, period, level)
    if not periods:
        raise InputError(f"geen kwartaal vóór {period} met controles in het kwartaal erna; een "
                         f"terugtoets vraagt controles in minstens twee kwartalen")
    table = backtest(store, catalogue, config, periods[0], periods[-1], level, k, data)
    choice = choose(table, period)
    seed = config["scoring.seed"]
    model_frame, model = predictions(store, catalogue, config, period, level, data)
    frames = [model_frame.assign(model=MODEL_NAME),
              combined_predictions(store, CombinedData(store, data), period, seed)
              .assign(model=COMBINED_NAME)]
    settings = {"level": level, "k": k, "quarters": [str(q) for q in periods], "seed": seed,
                "strength": model.strength_}
    summary = {"chosen": choice.method, "reason": choice.reason,
               "means": table[table["period"] == MEAN].set_index("method")[
                   ["precision_at_k", "auc"]].to_dict(orient="index")}
    stored = table[table["period"] != MEAN].assign(level=level)
    with store.transaction():
        store.con.execute("DELETE FROM backtests WHERE level = ? AND period IN (SELECT "
                          "unnest(?::VARCHAR[]))", [level, [str(q) for q in periods]])
        store.con.execute("DELETE FROM predictions WHERE level = ? AND period = ? AND model IN "
                          "(?, ?)", [level, str(period), MODEL_NAME, COMBINED_NAME])
        run_id = _new_run(store, "track_record", str(period), settings, summary)
        store.insert("backtests", stored.assign(run_id=run_id))
        store.insert("predictions", pd.concat(frames, ignore_index=True).assign(
            level=level, period=str(period), target_period=str(period + 1), run_id=run_id))
    log.info("rangorde voor %s: %s", period, choice.reason)
    return table
