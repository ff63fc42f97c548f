"""The public Python API: ``riskmap.Project(path)``, whose methods mirror the command line.

Every method opens the project's store, calls the library function for its step and closes
the store again (inside :meth:`Project.session`, one open store serves them all); methods
return DataFrames, GeoDataFrames or paths.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from riskmap._lock import project_lock
from riskmap.areatypes import analysis_levels, scored_levels
from riskmap.config import CONFIG_NAME, Config, config_from_mapping, load_config, render_yaml
from riskmap.errors import InputError, ProjectError, StoreError
from riskmap.indicators.catalogue import Indicator, load_catalogue
from riskmap.models.choices import GRID_LEVELS
from riskmap.periods import Period
from riskmap.store import LoadRecord, Store

if TYPE_CHECKING:
    import geopandas as gpd

    from riskmap.indicators.build import Built, LevelResult
    from riskmap.indicators.privacy import Guard
    from riskmap.models.backtest import BacktestResult
    from riskmap.reports.profile import AreaProfile
    from riskmap.reports.quarter import QuarterOutput

# Each method imports the part of the library it calls, so a command pays only for what it
# uses (the dashboard alone takes two seconds to import).

log = logging.getLogger(__name__)
T = TypeVar("T")

DASHBOARD_NAME = "dashboard.html"
PROJECT_FOLDERS = ("sources", "cache", "output", "logs")
STORE_MEMORY_FACTOR = 4
SCORE_LEVELS = scored_levels()


def area_level(level: str, allowed: tuple[str, ...] = SCORE_LEVELS) -> str:
    """``level`` in lower case (``"Buurt"`` -> ``"buurt"``), checked against ``allowed``."""
    name = str(level).strip().lower()
    if name not in allowed:
        raise InputError(f"niveau {level!r} bestaat niet; kies uit {{{', '.join(allowed)}}}")
    return name


class Project:
    """A riskmap project folder: ``riskmap.yaml``, ``riskmap.duckdb`` and the project key.

    Parameters
    ----------
    path
        The project folder (created by :meth:`init`).
    """

    def __init__(self, path: str | Path) -> None:
        self.root = Path(path)
        self.config: Config = load_config(self.root)
        # the store kept open by :meth:`session`, with the process that opened it
        self._session: tuple[int, Store] | None = None

    @classmethod
    def init(cls, path: str | Path, gemeente: str, year: int = 2024, naam: str | None = None,
             **options: Any) -> Project:
        """Create a project folder with a commented ``riskmap.yaml`` and an empty store.

        Refuses to overwrite an existing ``riskmap.yaml``.
        """
        from riskmap.sources._pseudo import store_key
        root = Path(path)
        if (root / CONFIG_NAME).exists():
            raise ProjectError(f"{root / CONFIG_NAME}: bestaat al; niet overschreven")
        values = {"gemeente": gemeente, "naam": naam, "boundary_year": year, **options}
        config_from_mapping(_nest(values), root)
        root.mkdir(parents=True, exist_ok=True)
        for folder in PROJECT_FOLDERS:
            (root / folder).mkdir(exist_ok=True)
        (root / CONFIG_NAME).write_text(render_yaml(values), encoding="utf-8")
        project = cls(root)
        with Store.open(project.config.store_path, create=True) as store:
            store_key(store, project.config.key_path)
        return project

    @contextmanager
    def store(self, read_only: bool = False) -> Iterator[Store]:
        """The project's store, opened for the duration of a ``with`` block (inside a
        :meth:`session`, its store, left open)."""
        if self._session is not None and self._session[0] == os.getpid():
            yield self._session[1]
            return
        store = Store.open(self.config.store_path, create=not read_only, read_only=read_only)
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def session(self) -> Iterator[None]:
        """Keep the store open, writable and locked for a ``with`` block: every :meth:`store`
        inside it is that one. Opening DuckDB costs 10-40 ms (its catalogue, the schema check,
        a checkpoint when closed), and the demo's loads and a quarter's hotspots opened it a
        dozen times each. Nothing inside may fork a process that opens the store: the
        session holds DuckDB's file lock (a forked process opens a store of its own)."""
        if self._session is not None:
            yield
            return
        with self.lock(), self.store() as store:
            self._session = (os.getpid(), store)
            try:
                yield
            finally:
                self._session = None

    @contextmanager
    def lock(self, what: str = "riskmap (Python)") -> Iterator[None]:
        """Hold the project lock for a ``with`` block, so no other process loads or builds in
        between (re-entrant; see :mod:`riskmap._lock`)."""
        with project_lock(self.root, what):
            yield

    @contextmanager
    def _loading(self, allow_shrink: bool) -> Iterator[Store]:
        """The store for one load, locked, with this project's rule against shrinking."""
        with self.lock(), self.store() as store:
            rules = store.allow_shrink, store.min_kept_share
            store.allow_shrink = allow_shrink
            store.min_kept_share = self.config["loads.min_kept_share"]
            try:
                yield store
            finally:  # the store may be a session's, which the next load uses
                store.allow_shrink, store.min_kept_share = rules

    @property
    def output_dir(self) -> Path:
        """Where outputs are written."""
        return self.config.path("paths.output")

    def catalogue(self) -> list[Indicator]:
        """The indicator catalogue of this project (own file, or the shipped one)."""
        own = self.config["paths.catalogue"]
        return load_catalogue(self.root / own if own else None)

    # --- loading ---------------------------------------------------------------------------
    # Every load refuses to keep nothing, or far fewer rows than it replaces, unless
    # ``allow_shrink=True`` (``--vervang``); :meth:`undo` takes a load back.
    def load_boundaries(self, path: str | Path, layer: str | None = None,
                        year: int | None = None, allow_shrink: bool = False) -> LoadRecord:
        """Load CBS wijk- en buurtkaart boundaries (see :func:`geometry.load_boundaries`)."""
        from riskmap.sources import geometry
        with self._loading(allow_shrink) as store:
            return geometry.load_boundaries(store, self.config, path, layer=layer, year=year)

    def load_areas(self, level: str, path: str | Path, id_field: str | None = None,
                   name_field: str | None = None, layer: str | None = None,
                   allow_shrink: bool = False) -> LoadRecord:
        """Load the polygons of an analysis-area type, e.g. ``"vakantiepark"`` (see
        :func:`geometry.load_analysis_areas` and ``config/area_types.yaml``)."""
        from riskmap.sources import geometry
        level = area_level(level, analysis_levels())
        with self._loading(allow_shrink) as store:
            return geometry.load_analysis_areas(store, self.config, level, path, id_field,
                                                name_field, layer)

    def load_bedrijventerreinen(self, path: str | Path, id_field: str | None = None,
                                name_field: str | None = None,
                                layer: str | None = None, allow_shrink: bool = False) -> LoadRecord:
        """Load bedrijventerreinen (IBIS or an own layer): :meth:`load_areas`."""
        return self.load_areas("bedrijventerrein", path, id_field, name_field, layer,
                               allow_shrink)

    def load_cbs(self, year: int, offline: bool = False, allow_shrink: bool = False) -> LoadRecord:
        """Load CBS Kerncijfers wijken en buurten of ``year`` through cbsodata."""
        from riskmap.sources import cbs
        with self._loading(allow_shrink) as store:
            return cbs.load_cbs(store, self.config, year, offline=offline)

    def load_police(self, offline: bool = False, allow_shrink: bool = False) -> LoadRecord:
        """Load registered crime per buurt (police, CBS 47018NED)."""
        from riskmap.sources import cbs
        with self._loading(allow_shrink) as store:
            return cbs.load_police(store, self.config, offline=offline)

    def load_kvk(self, path: str | Path, mapping: str | Path | None = None,
                 sbi: int | str | None = None, format: str = "auto",
                 allow_shrink: bool = False) -> LoadRecord:
        """Load a business-register extract (see :func:`riskmap.sources.kvk.load_kvk`)."""
        from riskmap.sources import kvk
        with self._loading(allow_shrink) as store:
            return kvk.load_kvk(store, self.config, path, mapping, sbi=sbi, format=format)

    def load_bag(self, path: str | Path, mapping: str | Path | None = None,
                 allow_shrink: bool = False) -> LoadRecord:
        """Load BAG addresses."""
        from riskmap.sources import bag
        with self._loading(allow_shrink) as store:
            return bag.load_bag(store, self.config, path, mapping)

    def load_register(self, kind: str, path: str | Path, mapping: str | Path | None = None,
                      allow_shrink: bool = False) -> LoadRecord:
        """Load a municipal register export of ``kind``."""
        from riskmap.sources import registers
        with self._loading(allow_shrink) as store:
            return registers.load_register(store, self.config, kind, path, mapping)

    def undo(self, load_id: int | None = None) -> dict[str, Any]:
        """Take back a load (default: the newest that can be): its rows go and the rows it
        replaced come back exactly (see :meth:`riskmap.store.Store.undo`)."""
        with self.lock(), self.store() as store:
            return store.undo(load_id)

    # --- building and reading ---------------------------------------------------------------
    def build(self, period: str | Period,
              meanwhile: Callable[[], object] | None = None) -> dict[str, LevelResult]:
        """Compute indicator values and scores for every level of ``period``, and store them.

        With ``meanwhile``, the quarter is computed in a forked process (with its own
        read-only connection) where possible, while ``meanwhile()`` runs here: ``riskmap
        build`` imports the writers of the tables and maps meanwhile (half a second). The
        same build either way.
        """
        from riskmap._forked import started
        from riskmap.indicators.build import computed_period, store_period
        quarter, catalogue = Period.parse(period), self.catalogue()

        def compute() -> Built:
            with self.store(read_only=True) as store:
                return computed_period(store, self.config, catalogue, quarter)

        with self.lock():
            with started([compute], self.memory_per_process(),
                         background=meanwhile is not None) as computed:
                if meanwhile is not None:
                    meanwhile()
                built = next(computed)
            with self.store() as store:
                store_period(store, self.config, catalogue, built)
        return built.results

    def build_quarters(self, periods: Sequence[str | Period],
                       meanwhile: Callable[[], object] | None = None) -> None:
        """Build several quarters: computed side by side in forked processes where possible
        (each with its own read-only connection; :func:`riskmap._forked.started`), then
        stored in order; else with :meth:`build` one after the other, each stored before the
        next is computed. The same builds either way: side by side, the change of a quarter
        whose previous quarter is built with it is taken from that one's scores (see
        :func:`riskmap.indicators.build.with_change`). ``meanwhile()`` runs here while the
        first quarter (or all of them, side by side) is computed (see :meth:`build`)."""
        from riskmap._forked import processes_for, started
        from riskmap.indicators.build import computed_period, store_period, with_change
        if processes_for(len(periods), self.memory_per_process()) < 2:
            for at, period in enumerate(periods):
                self.build(period, meanwhile=meanwhile if at == 0 else None)
            return
        catalogue = self.catalogue()
        quarters = [Period.parse(p) for p in periods]
        # per quarter, the position of its previous quarter earlier in this run (else None)
        previous = [max((j for j in range(at) if quarters[j] == quarter - 1), default=None)
                    for at, quarter in enumerate(quarters)]

        def compute(at: int) -> Built:
            with self.store(read_only=True) as store:
                return computed_period(store, self.config, catalogue, quarters[at],
                                       change=previous[at] is None)

        with self.lock():
            with started([partial(compute, at) for at in range(len(quarters))],
                         self.memory_per_process()) as computed:
                if meanwhile is not None:
                    meanwhile()
                built = list(computed)
            with self.store() as store:
                for quarter, before in zip(built, previous, strict=True):
                    if before is not None:
                        with_change(quarter, built[before])
                    store_period(store, self.config, catalogue, quarter)

    def memory_per_process(self) -> int:
        """What a process that builds or writes a quarter may need, in bytes: a build peaks at
        about three times the store file (3M national establishments: an 856 MB store, its
        pseudonyms stored uncompressed, 2.3 GB), so four times, for work side by side
        (:func:`riskmap._forked.side_by_side`)."""
        store = self.config.store_path
        return STORE_MEMORY_FACTOR * (store.stat().st_size if store.exists() else 0)

    def latest_period(self) -> Period:
        """The latest quarter that has been built."""
        with self.store(read_only=True) as store:
            return self._latest_in(store)

    def _latest_in(self, store: Store) -> Period:
        period = store.scalar("SELECT max(period) FROM builds")
        if period is None:
            raise StoreError(f"{self.root}: nog geen kwartaal berekend; draai "
                             f"`riskmap kwartaal --period ...`")
        return Period.parse(period)

    def scores(self, period: str | Period | None = None, level: str = "buurt") -> gpd.GeoDataFrame:
        """Overall and theme scores of one level as a GeoDataFrame (one row per area).

        Columns: ``code, name, score, rank, rank_median, rank_low, rank_high, drivers, change,
        rank_change, from_suppressed``, one ``score_<theme>`` column per theme, and geometry;
        ``drivers`` is a list of Dutch indicator labels. ``level`` is case-insensitive.
        """
        from riskmap.maps.areas import driver_list
        from riskmap.reports.tables import scores_frame
        level = area_level(level)
        period = Period.parse(period) if period else self.latest_period()
        with self.store(read_only=True) as store:
            frame = scores_frame(store, period, level)
        labels = {i.id: i.label for i in self.catalogue()}
        frame["drivers"] = frame["drivers"].map(lambda d: driver_list(d, labels))
        return frame

    def indicator_values(self, period: str | Period | None = None, level: str = "buurt",
                         raw: bool = False) -> pd.DataFrame:
        """Indicator values of one level and period, in long form (``code`` is the area),
        protected like the files: where ``suppressed`` is true the value, its indices and its
        sensitive counts are missing (``reason`` says why).

        ``raw=True`` returns the stored values unprotected, for analysis inside the
        organisation only; each such request is logged (``logs/ruwe-waarden.log``).
        """
        from riskmap.indicators.privacy import log_raw_access, protected_values
        level = area_level(level)
        period = Period.parse(period) if period else self.latest_period()
        with self.store(read_only=True) as store:
            values = store.query("SELECT * EXCLUDE (build_id) FROM indicator_values "
                                 "WHERE period = ? AND level = ? ORDER BY indicator, area_code",
                                 [str(period), level])
        if raw:
            log_raw_access(self.root, f"indicator_values {period} {level}")
        else:
            values = protected_values(values, self.catalogue())
        return values.rename(columns={"area_code": "code"})

    def guard(self, store: Store) -> Guard:
        """The privacy guard for outputs of this project."""
        from riskmap.indicators.privacy import Guard
        return Guard(store.pseudonyms_among)

    # --- maps, reports and target lists -----------------------------------------------------
    def built_period(self, period: str | Period | None = None) -> Period:
        """``period`` (default: the latest built), checked to have been built."""
        with self.store(read_only=True) as store:
            return self._built_in(store, period)

    def _built_in(self, store: Store, period: str | Period | None) -> Period:
        if period is None:
            return self._latest_in(store)
        quarter = Period.parse(period)
        if not store.scalar("SELECT count(*) FROM builds WHERE period = ?", [str(quarter)]):
            raise StoreError(f"{self.root}: {quarter} is nog niet berekend; draai eerst "
                             f"`riskmap kwartaal --period {quarter}`")
        return quarter

    @contextmanager
    def quarter_output(self, period: str | Period | None = None,
                       shared: QuarterOutput | None = None) -> Iterator[QuarterOutput]:
        """What the writers of a built quarter need (see :class:`QuarterOutput`), with the
        store open read-only for the duration of a ``with`` block; with ``shared`` (of the same
        quarter, its store closed), what it computed once for all writers comes along."""
        from riskmap.reports.quarter import QuarterOutput
        if shared is not None:
            with self.store(read_only=True) as store:
                yield shared.reopened(store, self.guard(store))
            return
        with self.store(read_only=True) as store:
            yield QuarterOutput(store, self.config, self.catalogue(), self.guard(store),
                                self._built_in(store, period))

    def tables(self, period: str | Period | None = None) -> dict[str, Path]:
        """Write ``scores.csv``, ``indicatoren.csv``, ``bronnen.csv`` and ``kwaliteit.md`` of a
        built quarter; returns the paths by name."""
        from riskmap.reports.outputs import write_tables
        with self.quarter_output(period) as q:
            return write_tables(q)

    def map(self, period: str | Period | None = None, offline: bool = True) -> dict[str, Path]:
        """Write the interactive map and the static maps of a quarter (see
        :func:`riskmap.reports.outputs.write_maps`); returns the paths by name."""
        from riskmap.reports.outputs import write_maps
        with self.quarter_output(period) as q:
            return write_maps(q, offline=offline)

    def tables_and_maps(self, period: str | Period | None = None,
                        offline: bool = True) -> dict[str, Path]:
        """:meth:`tables` and :meth:`map` in one go: the static maps' data are read here, then
        the tables, ``kaart.html`` and the static maps (drawn, checked and rendered) are
        written side by side in forked processes where possible, the largest first (each
        process that reads the store opens its own; on the national store the tables and the
        page take 14 and 12 s)."""
        from riskmap._forked import side_by_side
        from riskmap.indicators.privacy import Guard
        from riskmap.reports.outputs import (
            Writer,
            drawing_tasks,
            static_maps,
            static_paths,
            write_map_page,
            write_tables,
        )
        with self.quarter_output(period) as q:  # (checks that the quarter is built)
            statics = static_maps(q)
        writers: list[Writer] = [write_tables, partial(write_map_page, offline=offline)]
        tasks: list[Callable[[], Any]] = [partial(self._written, q, writer) for writer in writers]
        # a map's text is looked up in the store only when it holds what looks like a pseudonym
        guard = Guard(self._pseudonyms_among)
        done = list(side_by_side(tasks + drawing_tasks(q, statics, guard),
                                 self.memory_per_process()))
        paths = {name: path for written in done[:len(writers)] for name, path in written.items()}
        return paths | static_paths(q, statics, done[len(writers):])

    def _pseudonyms_among(self, tokens: set[str]) -> set[str]:
        with self.store(read_only=True) as store:
            return store.pseudonyms_among(tokens)

    def _written(self, shared: QuarterOutput, writer: Callable[[QuarterOutput], T]) -> T:
        """``writer`` run on the quarter ``shared`` is of, over a store opened here."""
        with self.quarter_output(shared=shared) as q:
            return writer(q)

    def report(self, period: str | Period | None = None, pdf: bool = False) -> dict[str, Path]:
        """Write the gebiedsanalyse (HTML) and, with ``pdf=True``, the driehoek briefing."""
        from riskmap.reports.briefing import write_briefing
        from riskmap.reports.gebiedsanalyse import write_report
        with self.quarter_output(period) as q:
            paths = {"gebiedsanalyse": write_report(q)}
            if pdf:
                paths["briefing"] = write_briefing(q)
        return paths

    def targets(self, period: str | Period | None = None, capacity: int | None = None,
                exclude_recent: int | None = None) -> dict[str, Path]:
        """Write the target list for integrale controles as CSV and XLSX (see
        :mod:`riskmap.reports.targets`); ``capacity`` counts controles (visits to
        establishments), one per establishment of a selected cell (default: the project's
        ``targets.capacity``)."""
        from riskmap.reports.targets import write_targets
        with self.quarter_output(period) as q:
            return write_targets(q, *self.target_settings(capacity, exclude_recent))

    def target_list(self, period: str | Period | None = None, capacity: int | None = None,
                    exclude_recent: int | None = None) -> pd.DataFrame:
        """The target list of :meth:`targets` as a DataFrame (Dutch headers, counts protected)."""
        from riskmap.reports.targets import target_list
        with self.quarter_output(period) as q:
            return target_list(q, *self.target_settings(capacity, exclude_recent))

    def target_settings(self, capacity: int | None = None,
                        exclude_recent: int | None = None) -> tuple[int, int]:
        """Capacity and quarters to skip of a target list: the given values, else the
        project's ``targets.capacity`` and ``targets.exclude_recent``."""
        return (self.config["targets.capacity"] if capacity is None else capacity,
                self.config["targets.exclude_recent"] if exclude_recent is None
                else exclude_recent)

    def export(self, period: str | Period | None = None) -> dict[str, Path]:
        """Write the GeoPackage of a quarter (for QGIS) and the history table over all built
        quarters (Parquet and CSV, for Power BI); see :mod:`riskmap.reports.exports`."""
        from riskmap.reports.exports import write_exports
        with self.quarter_output(period) as q:
            return write_exports(q)

    # --- one area ---------------------------------------------------------------------------
    def history(self, code: str) -> pd.DataFrame:
        """Every indicator and score of one area over the built quarters, in long form, with
        protected values (see :func:`riskmap.reports.exports.history_table`)."""
        from riskmap.reports.exports import history_table
        with self.store(read_only=True) as store:
            table = history_table(store, self.catalogue(), codes=[code.strip().upper()])
        if table.empty:
            raise InputError(f"gebied {code!r}: geen scores of indicatoren berekend; controleer "
                             f"de code of draai `riskmap kwartaal`")
        return table

    def profile(self, code: str, period: str | Period | None = None) -> AreaProfile:
        """The profile of one area in a built quarter: scores, rank interval, drivers, hotspot
        patterns, the model's chance, indicator values with their indices, and the score
        history (see :func:`riskmap.reports.profile.area_profile`)."""
        from riskmap.reports.profile import area_profile
        with self.quarter_output(period) as q:
            return area_profile(q, code.strip().upper())

    def dashboard(self, path: str | Path | None = None,
                  tolerance: float | None = None) -> Path:
        """Write the dashboard: one self-contained, offline HTML file over every built quarter
        (default ``output/dashboard.html``; see :mod:`riskmap.dashboard`). ``tolerance``
        simplifies the area outlines (metres; default 2, or 20 above 2,000 buurten)."""
        from riskmap.dashboard.page import write_dashboard
        target = Path(path) if path else self.output_dir / DASHBOARD_NAME
        with self.store(read_only=True) as store:
            return write_dashboard(store, self.catalogue(), self.config.gemeente,
                                   str(self.config["naam"] or self.config.gemeente),
                                   self.config["privacy.min_count"], target, self.guard(store),
                                   tolerance)

    # --- hotspots and models ----------------------------------------------------------------
    def _analysis_period(self, period: str | Period | None, level: str) -> Period:
        """A built quarter for area levels; any quarter (default: the latest built) on the grid."""
        if level in GRID_LEVELS and period is not None:
            return Period.parse(period)
        return self.built_period(period)

    def hotspots(self, period: str | Period | None = None, variable: str | None = None,
                 level: str = "buurt", method: str = "gi_star", alpha: float = 0.05,
                 permutations: int | None = None) -> gpd.GeoDataFrame:
        """Hot and cold spots of a quarter, stored in table ``hotspots`` (see
        :func:`riskmap.models.runs.run_hotspots`; variables in :mod:`riskmap.models.variables`).

        One row per area or grid cell with ``category``, ``z``, ``p_value`` and ``q_value``;
        the variable's values stay in the store. On the grid, significant cells with fewer
        than 5 events around them are ``withheld``.
        """
        from riskmap.models.hotspots import withhold_small_windows
        from riskmap.models.runs import run_hotspots
        from riskmap.models.variables import level_areas
        level = area_level(level, (*SCORE_LEVELS, *GRID_LEVELS))
        quarter = self._analysis_period(period, level)
        with self.lock(), self.store() as store:
            table = run_hotspots(store, self.config, quarter, variable, level, method, alpha,
                                 permutations)
            areas = level_areas(store, level)
        if level in GRID_LEVELS:
            table = withhold_small_windows(table, self.config["privacy.min_count"])
        return _with_areas(areas, table.drop(columns=["value", "window_sum"]))

    def emerging_hotspots(self, first: str | Period | None = None,
                          last: str | Period | None = None, variable: str | None = None,
                          level: str = "buurt", alpha: float = 0.05) -> gpd.GeoDataFrame:
        """Emerging hotspot categories over quarters (default: every built quarter), stored in
        table ``emerging_hotspots`` (see :func:`riskmap.models.runs.run_emerging`)."""
        from riskmap.models.runs import run_emerging
        from riskmap.models.variables import level_areas
        level = area_level(level, (*SCORE_LEVELS, *GRID_LEVELS))
        with self.lock(), self.store() as store:
            table = run_emerging(store, self.config, Period.parse(first) if first else None,
                                 Period.parse(last) if last else None, variable, level, alpha)
            areas = level_areas(store, level)
        return _with_areas(areas, table)

    def predict(self, period: str | Period | None = None, level: str = "buurt") -> gpd.GeoDataFrame:
        """Each area's chance that a controle in the next quarter finds something, from the
        hit-rate model fitted on the controles up to ``period``; stored in ``predictions``.
        ``explanation`` lists the Dutch labels of the indicators that push the chance up."""
        from riskmap.maps.areas import driver_list
        from riskmap.models.track import run_predictions
        level = area_level(level)
        quarter = self.built_period(period)
        with self.lock(), self.store() as store:
            table = run_predictions(store, self.catalogue(), self.config, quarter, level)
            areas = store.areas(level)[["code", "name", "geometry"]].drop_duplicates("code")
        labels = {i.id: i.label for i in self.catalogue()}
        table = table.assign(explanation=table["explanation"].map(
            lambda d: driver_list(d, labels)))
        return _with_areas(areas, table)

    def track_record(self, period: str | Period | None = None, level: str = "buurt",
                     k: int = 10) -> pd.DataFrame:
        """Backtest the quarters before ``period``, store the result, the model's and the
        combined ranking's chances, and the ranking the outputs of ``period`` use (computed
        with read-only connections, side by side where possible, then stored: see
        :func:`riskmap.models.track.computed_track_record`); returns the backtest table."""
        from riskmap.models.track import computed_track_record, store_track_record
        level = area_level(level)
        quarter = self.built_period(period)
        with self.lock():
            record = computed_track_record(partial(self.store, read_only=True), self.catalogue(),
                                           self.config, quarter, level, k,
                                           self.memory_per_process())
            with self.store() as store:
                return store_track_record(store, record, self.config)

    def backtest(self, first: str | Period, last: str | Period, level: str = "buurt",
                 k: int = 10) -> BacktestResult:
        """Backtest quarters ``first`` .. ``last`` against the controles of the quarter after
        each (see :mod:`riskmap.models.backtest`); writes a table (CSV) and a plot (PNG) to
        ``output/terugtoets/``. (The track record the outputs show is
        :meth:`track_record`'s.)"""
        from riskmap.models.backtest import BacktestResult, backtest, write_backtest
        level = area_level(level)
        with self.store(read_only=True) as store:
            table = backtest(store, self.catalogue(), self.config, Period.parse(first),
                             Period.parse(last), level, k)
            outputs = write_backtest(table, self.output_dir / "terugtoets", self.guard(store),
                                     self.config["privacy.min_count"])
        return BacktestResult(table, outputs)

    def anomalies(self, period: str | Period | None = None) -> pd.DataFrame:
        """Bedrijventerreinen by how unusual their branch mix is (see
        :mod:`riskmap.models.anomaly`); establishment counts are public (trade register)."""
        from riskmap.models.anomaly import anomalies
        quarter = self.built_period(period)
        with self.store(read_only=True) as store:
            frame = anomalies(store, quarter, self.config["scoring.seed"],
                              self.config["privacy.min_count"])
            names = store.areas("bedrijventerrein").drop_duplicates("code").set_index("code")["name"]
        frame = frame.rename(columns={"area_code": "code"})
        frame.insert(1, "name", frame["code"].map(names))
        return frame

    def branch_mix(self, period: str | Period | None = None) -> pd.DataFrame:
        """Active establishments per bedrijventerrein (rows) and risk branch or SBI section
        (columns, Dutch labels) at the end of a quarter (public counts, from the trade register)."""
        from riskmap.models.anomaly import branch_mix, category_labels
        quarter = self.built_period(period)
        with self.store(read_only=True) as store:
            mix = branch_mix(store, quarter)
            names = store.areas("bedrijventerrein").drop_duplicates("code").set_index("code")["name"]
        return mix.rename(index=names.to_dict(), columns=category_labels())

    def grid(self, size: int = 500, period: str | Period | None = None,
             kinds: list[str] | None = None, raw: bool = False) -> gpd.GeoDataFrame:
        """The CBS-aligned grid of ``size`` m with register events per cell in the 12 months up
        to ``period``. Protected (the default): the published grid only (500 m, the signal
        kinds), as the quarter's protection shows it (``<5``, ``–`` or the number).

        ``raw=True`` gives exact counts for any size and kinds (default: all), for analysis
        inside the organisation only; each such request is logged.
        """
        from riskmap.indicators.privacy import log_raw_access
        from riskmap.models.grid import grid_counts, public_grid_counts
        quarter = Period.parse(period) if period else self.latest_period()
        with self.store(read_only=True) as store:
            if raw:
                log_raw_access(self.root, f"grid {size} m {quarter} {kinds or 'alle'}")
                return grid_counts(store, size, quarter, kinds)
            return public_grid_counts(store, size, quarter, kinds,
                                      min_count=self.config["privacy.min_count"])

    def status(self) -> dict[str, pd.DataFrame]:
        """What is loaded: lineage per load, row counts per table, built periods, and the loads
        :meth:`undo` can take back."""
        with self.store(read_only=True) as store:
            lineage = store.lineage()[["load_id", "source", "slice", "path", "rows_read",
                                       "rows_kept", "rows_rejected", "rejects", "notes",
                                       "loaded_at"]]
            counts = pd.Series(store.table_counts(), name="rows").rename_axis("table")
            builds = store.query("SELECT period, max(built_at) AS built_at FROM builds "
                                 "GROUP BY period ORDER BY period")
            events = store.query("SELECT kind, count(*) AS rows, min(date) AS first, "
                                 "max(date) AS last FROM events GROUP BY kind ORDER BY kind")
            undoable = store.undoable()
        return {"lineage": lineage, "tables": counts.reset_index(), "builds": builds,
                "events": events, "undoable": undoable}


def _with_areas(areas: gpd.GeoDataFrame, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """A result table joined to the names (where known) and geometries of its areas; the
    area's code is ``code``, as in every table of the API."""
    import geopandas as gpd

    keep = [c for c in ("code", "name", "geometry") if c in areas.columns]
    joined = areas[keep].merge(table.rename(columns={"area_code": "code"}), on="code",
                               how="right")
    return gpd.GeoDataFrame(joined, geometry="geometry", crs=areas.crs)


def _nest(values: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in values.items():
        head, _, leaf = key.rpartition(".")
        target = nested
        for part in head.split(".") if head else []:
            target = target.setdefault(part, {})
        target[leaf] = value
    return nested


def scores(project: str | Path | Project, period: str | Period | None = None,
           level: str = "buurt") -> gpd.GeoDataFrame:
    """Scores of one level and quarter as a GeoDataFrame (shortcut for :meth:`Project.scores`)."""
    project = project if isinstance(project, Project) else Project(project)
    return project.scores(period, level)
