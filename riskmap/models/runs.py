"""Hotspots and emerging hotspots from the store, written back to it.

Each function here reads what it needs from the store, runs a model from this package and
stores the result in one transaction together with a row in ``runs`` (kind, period, settings,
summary and the loads it was built from). Running the same analysis again replaces its rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd

from riskmap.config import Config
from riskmap.errors import InputError, StoreError
from riskmap.models.emerging import MIN_PERIODS, EmergingHotspots
from riskmap.models.hotspots import hotspot_table
from riskmap.models.variables import GRID_LEVELS, check_level, default_variable, level_areas, variable_values
from riskmap.models.weights import Neighbours, band_neighbours, queen_neighbours
from riskmap.periods import Period, quarters
from riskmap.store import Store

log = logging.getLogger(__name__)

# Grid cells are neighbours when their centres are at most 1.5 cells apart: the 8 around them.
BAND = 1.5


def new_run(store: Store, kind: str, period: str | None, settings: dict[str, Any],
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


@dataclass
class AnalysisRun:
    """A hotspot or emerging-hotspot analysis computed, not stored yet (see :func:`store_run`):
    its table (``hotspots`` or ``emerging_hotspots``, also the ``runs`` kind), quarter, rows,
    the rows of the same analysis it replaces (column -> value), what its ``runs`` row records,
    and the arguments it was computed with."""

    kind: str
    period: str
    table: pd.DataFrame
    replaces: dict[str, str]
    settings: dict[str, Any]
    summary: dict[str, Any]
    arguments: dict[str, Any]


def computed_hotspots(store: Store, config: Config, period: Period, variable: str | None = None,
                      level: str = "buurt", method: str = "gi_star", alpha: float = 0.05,
                      permutations: int | None = None) -> AnalysisRun:
    """Hot and cold spots of a quarter (:func:`hotspots_of`) as a run to store."""
    table, neighbours = hotspots_of(store, config, period, variable, level, method, alpha,
                                    permutations)
    variable = str(table["variable"].iloc[0])
    settings = {"level": level, "variable": variable, "method": method, "alpha": alpha,
                "permutations": table.attrs["permutations"], "seed": config["scoring.seed"],
                "weights": "distance band" if level in GRID_LEVELS else "queen"}
    summary = {"categories": table["category"].value_counts().to_dict(),
               "islands": neighbours.islands, "components": neighbours.components}
    replaces = {"level": level, "period": str(period), "variable": variable, "method": method}
    return AnalysisRun("hotspots", str(period), table, replaces, settings, summary,
                       _arguments(config, level, variable, method, alpha, permutations))


def _arguments(config: Config, level: str, variable: str, method: str, alpha: float,
               permutations: int | None) -> dict[str, Any]:
    """What a quarter's local statistic depends on besides the store (equal arguments, the
    same table), as asked: a run with the permutations left to the default differs from one
    that asked for a number."""
    return {"level": level, "variable": variable, "method": method, "alpha": alpha,
            "permutations": permutations, "seed": config["scoring.seed"]}


def run_hotspots(store: Store, config: Config, period: Period, variable: str | None = None,
                 level: str = "buurt", method: str = "gi_star", alpha: float = 0.05,
                 permutations: int | None = None) -> pd.DataFrame:
    """Compute and store hot and cold spots (table ``hotspots``); returns the stored rows."""
    return store_run(store, computed_hotspots(store, config, period, variable, level, method,
                                              alpha, permutations))


def store_run(store: Store, run: AnalysisRun) -> pd.DataFrame:
    """Store a computed analysis: its rows replace those of the same analysis (level,
    variable, method and quarter or quarters), with a ``runs`` row; returns the rows stored."""
    with store.transaction():
        store.con.execute(f"DELETE FROM {run.kind} WHERE "
                          + " AND ".join(f"{column} = ?" for column in run.replaces),
                          list(run.replaces.values()))
        run_id = new_run(store, run.kind, run.period, run.settings, run.summary)
        store.insert(run.kind, run.table.assign(run_id=run_id))
    return run.table.assign(run_id=run_id)


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


def computed_emerging(store: Store, config: Config, first: Period | None = None,
                      last: Period | None = None, variable: str | None = None,
                      level: str = "buurt", alpha: float = 0.05, permutations: int | None = None,
                      hotspots: Sequence[AnalysisRun] = ()) -> AnalysisRun:
    """Gi* per quarter ``first`` .. ``last`` (default: every built quarter), classified into
    emerging hotspot categories, as a run to store. A quarter's Gi* among ``hotspots`` (runs of
    :func:`computed_hotspots` on the same store) is taken as it is where it was computed with
    the same settings."""
    periods = _emerging_quarters(store, check_level(level), first, last)
    if len(periods) < MIN_PERIODS:
        raise InputError(f"opkomende hotspots vragen minstens {MIN_PERIODS} kwartalen; er zijn er "
                         f"{len(periods)} ({', '.join(map(str, periods))})")
    variable = variable or default_variable(level)
    arguments = _arguments(config, level, variable, "gi_star", alpha, permutations)
    done = {run.period: run.table for run in hotspots if run.arguments == arguments}
    with _quiet("riskmap.models.weights", "riskmap.models.hotspots"):
        # the per-quarter Gi* runs repeat what the quarter's own hotspot run already reported
        tables = [done[str(q)] if str(q) in done else
                  hotspots_of(store, config, q, variable, level, "gi_star", alpha,
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
    log.debug("emerging hotspots %s..%s: %s", periods[0], periods[-1],
             ", ".join(f"{n} {c}" for c, n in summary["categories"].items()))
    replaces = {"level": level, "variable": variable, "first_period": str(periods[0]),
                "last_period": str(periods[-1])}
    return AnalysisRun("emerging_hotspots", str(periods[-1]), result, replaces, settings,
                       summary, arguments)


def run_emerging(store: Store, config: Config, first: Period | None = None,
                 last: Period | None = None, variable: str | None = None, level: str = "buurt",
                 alpha: float = 0.05, permutations: int | None = None) -> pd.DataFrame:
    """Gi* per quarter ``first`` .. ``last`` (default: every built quarter), classified into
    emerging hotspot categories and stored (table ``emerging_hotspots``)."""
    return store_run(store, computed_emerging(store, config, first, last, variable, level, alpha,
                                              permutations))
