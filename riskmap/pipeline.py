"""The quarter end to end, in one call (the demo gemeente's run is :mod:`riskmap.demo`).

:func:`run_quarter` is what ``riskmap kwartaal`` does: every stage of a quarter in dependency
order (indicators and scores, hotspots, emerging hotspots, the track record — backtest of score,
hit-rate model and combined ranking, and the choice of ranking — then tables, maps,
gebiedsanalyse, briefing, target list, exports and the dashboard), so no output reports as
missing what could have been computed. A stage that cannot run (too few quarters, no controles)
is skipped with the reason, which the run returns and the outputs state. Running it again gives
the same outputs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from riskmap._forked import settled, side_by_side_with, started
from riskmap._progress import progress
from riskmap.errors import InputError, RiskmapError, StoreError
from riskmap.models.backtest import MEAN
from riskmap.models.emerging import MIN_PERIODS
from riskmap.models.ranking import RANKING_LABELS, stored_choice
from riskmap.models.runs import (
    AnalysisRun,
    built_quarters,
    computed_emerging,
    computed_hotspots,
    store_run,
)
from riskmap.periods import Period, quarters
from riskmap.project import Project
from riskmap.reports.bias import audit_accuracy
from riskmap.reports.briefing import write_briefing
from riskmap.reports.exports import write_exports
from riskmap.reports.gebiedsanalyse import write_report
from riskmap.reports.outputs import Writer, write_map_page, write_static_maps, write_tables
from riskmap.reports.quarter import QuarterOutput
from riskmap.reports.targets import write_targets
from riskmap.store import Store

log = logging.getLogger(__name__)

DONE, SKIPPED = "klaar", "overgeslagen"


@dataclass
class Stage:
    """One stage of a quarter: its Dutch name, whether it ran, and what it did or why not."""

    name: str
    status: str
    note: str = ""


@dataclass
class QuarterRun:
    """What :func:`run_quarter` did: the stages in order and the files written, by name."""

    period: Period
    stages: list[Stage] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)

    def skipped(self) -> list[Stage]:
        """The stages that could not run."""
        return [stage for stage in self.stages if stage.status == SKIPPED]


def _build(project: Project, period: Period, first: Period | None) -> str:
    """Build ``period`` and the quarters from ``first`` that are not built yet."""
    with project.store(read_only=True) as store:
        built = set(built_quarters(store, "buurt"))
    earlier = [q for q in quarters(first, period - 1) if q not in built] if first else []
    # the writers' libraries are imported while the quarters are computed
    project.build_quarters([*earlier, period], meanwhile=preload_writers)
    extra = f" (en {', '.join(map(str, earlier))})" if earlier else ""
    return f"{period}{extra} berekend"


def _consecutive(store: Store, period: Period) -> list[Period]:
    """The built quarters that run without a gap up to and including ``period``."""
    built = set(built_quarters(store, "buurt"))
    run: list[Period] = []
    quarter = period
    while quarter in built:
        run.insert(0, quarter)
        quarter = quarter - 1
    return run


# Gi* of the quarters, the emerging hotspots (or why there are none) and the bias audit's
# backtest (see _patterns_of)
PatternsOf = tuple[list[AnalysisRun], AnalysisRun | str, pd.DataFrame | None]


def _patterns_of(project: Project, period: Period) -> PatternsOf:
    """Gi* of ``period`` and of the built quarters before it that have none yet (so the
    dashboard can compare quarters), the emerging hotspots over the consecutive built
    quarters (or why there are none), and the bias audit's backtest of the score without its
    theme (:func:`riskmap.reports.bias.audit_accuracy`; ``None`` where it cannot be computed:
    the audit says why), computed from the store as it is (read only)."""
    with project.store(read_only=True) as store:
        try:
            accuracy = audit_accuracy(store, project.catalogue(), project.config, period)
        except RiskmapError:
            accuracy = None
        done = set(store.query("SELECT DISTINCT period FROM hotspots WHERE level = 'buurt' "
                               "AND method = 'gi_star' AND variable = 'totaal'")["period"])
        run = _consecutive(store, period)
        hotspots = [computed_hotspots(store, project.config, quarter)
                    for quarter in [*(q for q in run[:-1] if str(q) not in done), period]]
        if len(run) < MIN_PERIODS:
            return hotspots, (f"{len(run)} aaneengesloten kwartaal/kwartalen berekend t/m "
                              f"{period}; opkomende hotspots vragen er {MIN_PERIODS} (gebruik "
                              f"--from {period - (MIN_PERIODS - 1)})"), accuracy
        # the Gi* of the quarters just computed are not computed again
        return hotspots, computed_emerging(store, project.config, run[0], period,
                                           hotspots=hotspots), accuracy


class _Taken:
    """The result of :func:`_patterns_of` from its forked process, taken once: its backtest
    for the bias audit, then the whole (an error of the task is raised there, not in the
    audit)."""

    def __init__(self, results: Iterator[PatternsOf]) -> None:
        self._results = results
        self._outcome: PatternsOf | Exception | None = None

    def result(self) -> PatternsOf:
        if self._outcome is None:
            try:
                self._outcome = next(self._results)
            except Exception as exc:  # raised again by each call
                self._outcome = exc
        if isinstance(self._outcome, Exception):
            raise self._outcome
        return self._outcome

    def accuracy(self) -> pd.DataFrame | None:
        try:
            return self.result()[2]
        except Exception:  # raised again by result()
            return None


class _Patterns:
    """The stages hotspots and emerging hotspots of a quarter, after its track record: both
    computed in a forked process, with the bias audit's backtest, while this one computes the
    rest of the bias audit the writers show (each takes one core), then stored here."""

    def __init__(self, project: Project, period: Period) -> None:
        self.project, self.period = project, period
        self.audited: QuarterOutput | None = None  # the bias audit (or why there is none)
        self._emerging: AnalysisRun | str = ""

    def hotspots(self) -> str:
        project = self.project
        with project.lock():
            with started([partial(_patterns_of, project, self.period)],
                         background=True) as computed:
                patterns = _Taken(computed)
                with project.quarter_output(self.period) as self.audited, \
                        suppress(RiskmapError):
                    # else the writers say why there is none
                    self.audited.bias_audit(accuracy=patterns.accuracy)
                hotspots, self._emerging, _ = patterns.result()
            with project.store() as store:
                for run in hotspots:
                    store_run(store, run)
        table = hotspots[-1].table
        hot = int((table["category"] == "hotspot").sum())
        cold = int((table["category"] == "coldspot").sum())
        earlier = [run.period for run in hotspots[:-1]]
        extra = f" (ook berekend voor {', '.join(earlier)})" if earlier else ""
        return f"{hot} hotspots en {cold} coldspots onder de buurten{extra}"

    def emerging(self) -> str:
        if isinstance(self._emerging, str):
            raise _Skip(self._emerging)
        with self.project.lock(), self.project.store() as store:
            table = store_run(store, self._emerging)
        patterned = int((table["category"] != "no_pattern").sum())
        first, last = self._emerging.replaces["first_period"], self._emerging.period
        return f"{first} t/m {last}: {patterned} buurten met een patroon"


def _has_controles(project: Project, period: Period) -> bool:
    with project.store(read_only=True) as store:
        return bool(store.scalar("SELECT count(*) FROM events WHERE kind = 'controles' AND "
                                 "date <= ?", [period.end]))


def _track_record(project: Project, period: Period) -> str:
    if not _has_controles(project, period):
        raise _Skip(f"geen controles geladen t/m {period}")
    try:
        table = project.track_record(period)
    except (InputError, StoreError) as exc:
        raise _Skip(str(exc)) from exc
    with project.store(read_only=True) as store:
        choice = stored_choice(store, period)
    ranked = sorted({str(q) for q in table["period"]} - {MEAN})
    return (f"{ranked[0]} t/m {ranked[-1]} getoetst aan de controles van het kwartaal erna; "
            f"gebruikt: {RANKING_LABELS.get(choice.method, choice.method)}")


class _Skip(Exception):  # noqa: N818 - a stage's way of saying why it cannot run
    """Raised by a stage that cannot run; its message is the Dutch reason."""


def _outputs(project: Project, period: Period, offline: bool, capacity: int | None,
             exclude_recent: int | None, audited: QuarterOutput | None = None) -> dict[str, Path]:
    """Every output of the quarter, written side by side in forked processes where possible
    (:func:`riskmap._forked.side_by_side_with`: each opens the store once), each writer a task
    that whichever process is free takes, in this order: the static maps with the report
    (which embeds the PNGs they rendered; the largest on a gemeente), the briefing, the
    exports, the target list, the dashboard, the tables and ``kaart.html`` (on the national
    store the exports, the target list, the tables and the page take 12-25 s each). The bias
    audit, which the report and the briefing both show, is that of ``audited`` (see
    :class:`_Patterns`), else computed before."""
    capacity, exclude_recent = project.target_settings(capacity, exclude_recent)
    with project.quarter_output(period) as shared, suppress(RiskmapError):
        if audited is not None:
            shared.take_bias_audit(audited)
        shared.bias_audit()  # else the writers say why there is none
    groups: list[list[Writer]] = [
        [write_static_maps, lambda q: {"gebiedsanalyse": write_report(q)}],
        [lambda q: {"briefing": write_briefing(q)}], [write_exports],
        [lambda q: write_targets(q, capacity, exclude_recent)],
        [lambda _q: {"dashboard": project.dashboard()}], [write_tables],
        [partial(write_map_page, offline=offline)]]

    def write(group: list[Writer], q: QuarterOutput) -> dict[str, Path]:
        return {name: path for writer in group for name, path in writer(q).items()}

    # each process opens the store once for the groups it writes
    written = progress(side_by_side_with(partial(project.quarter_output, shared=shared),
                                         [partial(write, group) for group in groups],
                                         project.memory_per_process()),
                       "uitvoer schrijven", total=len(groups))
    return {name: path for paths in written for name, path in paths.items()}


def preload_writers() -> None:
    """Import what the quarter's writers load only when they write (Pango for the briefing,
    GDAL for the GeoPackage, XlsxWriter, the dashboard and its charts), for a caller with a
    core to spare before :func:`run_quarter`: else each writer's forked process imports them
    on its own while both cores write (0.6 s)."""
    import pyogrio  # noqa: F401, PLC0415
    import weasyprint  # noqa: F401, PLC0415
    import xlsxwriter  # noqa: F401, PLC0415

    import riskmap.dashboard.page  # noqa: F401, PLC0415


def run_quarter(project: Project, period: str | Period, first: str | Period | None = None,
                offline: bool = True, capacity: int | None = None,
                exclude_recent: int | None = None) -> QuarterRun:
    """Run every stage of a quarter, in dependency order, and write all its outputs.

    Parameters
    ----------
    project
        The project, with its sources loaded.
    period
        The quarter (``2025Q3``; also ``2025-Q3``, ``2025q3``).
    first
        Also build the quarters from ``first`` up to ``period`` that are not built yet, so
        emerging hotspots (which need four quarters) can be computed.
    offline
        ``kaart.html`` without basemap and without any network request (the default).
    capacity, exclude_recent
        Of the target list (default: the project's ``targets.*`` options).

    Returns
    -------
    QuarterRun
        The stages (done, or skipped with the reason) and the files written.
    """
    quarter = Period.parse(period)
    start = Period.parse(first) if first else None
    patterns = _Patterns(project, quarter)
    stages: list[tuple[str, Callable[[], str]]] = [
        ("indicatoren en scores", lambda: _build(project, quarter, start)),
        ("terugtoets en rangorde", lambda: _track_record(project, quarter)),
        ("hotspots", patterns.hotspots),
        ("opkomende hotspots", patterns.emerging),
    ]
    run = QuarterRun(quarter)
    with settled():
        for name, stage in progress(stages, f"kwartaal {quarter}"):
            try:
                run.stages.append(Stage(name, DONE, stage()))
            except _Skip as reason:
                run.stages.append(Stage(name, SKIPPED, str(reason)))
            log.debug("%s: %s", name, run.stages[-1])
        run.outputs = _outputs(project, quarter, offline, capacity, exclude_recent,
                               patterns.audited)
    run.stages.append(Stage("uitvoer", DONE, f"{len(run.outputs)} bestanden in "
                                             f"{project.output_dir / str(quarter)}"))
    return run
