"""The ``riskmap`` command: a thin layer over :class:`riskmap.Project`.

Every user mistake (a wrong command, a missing project or file, bad input) prints one line and
exits with code 2; nothing is half-written.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import duckdb

from riskmap import fmt
from riskmap.docs import REFERENCES
from riskmap.errors import RiskmapError
from riskmap.indicators.privacy import public_table
from riskmap.models.backtest import HEADERS, MEAN, backtest_table
from riskmap.models.hotspots import CATEGORY_LABELS, METHODS, shown_hotspots
from riskmap.models.variables import LEVELS
from riskmap.periods import Period
from riskmap.pipeline import run_demo
from riskmap.project import Project
from riskmap.reports.outputs import write_outputs
from riskmap.store import STORE_RECOVERY, LoadRecord

log = logging.getLogger("riskmap")

project_option = click.option(
    "--project", "-p", "project_dir", default=".", envvar="RISKMAP_PROJECT", show_default=True,
    type=click.Path(file_okay=False, path_type=Path), help="Project folder (with riskmap.yaml).")
existing_file = click.Path(exists=False, dir_okay=False, path_type=Path)
replace_option = click.option(
    "--vervang", "allow_shrink", is_flag=True,
    help="Bevestig dat deze lading de opgeslagen rijen mag vervangen door veel minder (of geen) "
         "rijen; zonder deze optie wordt zo'n lading geweigerd. Terug te draaien met "
         "`riskmap undo`.")


class _StderrHandler(logging.Handler):
    """Log lines to whatever ``sys.stderr`` is at the time (click may swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


class _HeldLines(logging.handlers.MemoryHandler):
    """Console lines held until the command ends: shown when it succeeds, dropped (they are in
    the run's log file) when it is refused, so a refusal is one line."""

    def __init__(self) -> None:
        super().__init__(capacity=100_000, flushLevel=logging.CRITICAL + 1,
                         target=_StderrHandler(), flushOnClose=False)

    def drop(self) -> None:
        """Forget the held lines."""
        self.acquire()
        try:
            self.buffer.clear()
        finally:
            self.release()


_CONSOLE: list[logging.Handler] = []
_RUN_LOG: list[logging.FileHandler] = []


def _setup_logging(quiet: bool, verbose: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler: logging.Handler = _StderrHandler() if verbose else _HeldLines()
    handler.setLevel(level)
    for target in (handler, getattr(handler, "target", None)):
        if target is not None:
            target.setFormatter(logging.Formatter("%(message)s"))
    _CONSOLE[:] = [handler]
    root = logging.getLogger("riskmap")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # library warnings (GDAL, pandas, shapely) go to the run's log file, not the console,
    # unless --verbose: a refusal is one line
    logging.captureWarnings(True)
    libraries = logging.getLogger()
    for old in _RUN_LOG:
        libraries.removeHandler(old)
        old.close()
    _RUN_LOG.clear()
    libraries.handlers[:] = [h for h in libraries.handlers
                             if not isinstance(h, _StderrHandler | _LibraryHandler)]
    libraries.addHandler(_StderrHandler() if verbose else _LibraryHandler())


def _end_console(succeeded: bool) -> None:
    """Show the held console lines of a command that succeeded; drop those of a refusal."""
    for handler in _CONSOLE:
        if isinstance(handler, _HeldLines):
            if not succeeded:
                handler.drop()
            handler.flush()


class _LibraryHandler(logging.NullHandler):
    """Marks that libraries' log records have a home (the run's log file), so Python does not
    print them to the console."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--quiet", "-q", is_flag=True, help="Only warnings and errors.")
@click.option("--verbose", "-v", is_flag=True, help="Show debugging detail.")
@click.version_option(package_name="riskmap")
def cli(quiet: bool, verbose: bool) -> None:
    """riskmap: where the risk of ondermijning is higher, per buurt, wijk and bedrijventerrein."""
    _setup_logging(quiet, verbose)


def _log_to_file(folder: Path) -> Path:
    """Log everything of this run (debug level) to a new file in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    command = "-".join(a for a in sys.argv[1:3] if not a.startswith("-")) or "riskmap"
    path = folder / f"{datetime.now():%Y%m%d-%H%M%S}-{command.replace('/', '_')}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger("riskmap")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # the console handler keeps its own level
    logging.getLogger().addHandler(handler)
    _RUN_LOG[:] = [handler]
    return path


def _project(project_dir: Path) -> Project:
    """Open a project, start this run's log file in its ``logs/`` folder, and hold the project
    lock until the command ends (so no other command loads or builds in between)."""
    project = Project(project_dir)
    _log_to_file(project.root / "logs")
    context = click.get_current_context()
    context.with_resource(project.lock(context.command_path))
    return project


def _say(text: str) -> None:
    click.echo(text)


def _report(record: LoadRecord) -> None:
    _say(record.summary())


@cli.command()
@click.option("--out", "out", default="out/demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for the demo project.")
def demo(out: Path) -> None:
    """Generate the demo gemeente Havenwaard and run the whole pipeline on it."""
    log_file = _log_to_file(out / "logs")
    run = run_demo(out)
    for record in run.loads:
        _report(record)
    _say(f"\nDemo project: {out.resolve()}")
    _say(f"Sources (real formats): {(out / 'sources').resolve()}")
    _say(f"Log of this run: {log_file.resolve()}")
    _paths(run.outputs)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--gemeente", required=True, help="CBS gemeente code, e.g. GM0034.")
@click.option("--year", default=2024, show_default=True, type=int, help="Boundary year.")
@click.option("--naam", default=None, help="Name of the gemeente for reports.")
def init(directory: Path, gemeente: str, year: int, naam: str | None) -> None:
    """Create a project folder with a commented riskmap.yaml."""
    project = Project.init(directory, gemeente.upper(), year, naam=naam)
    _say(f"created project {project.root.resolve()} (edit riskmap.yaml, then `riskmap load ...`)")


@cli.group()
def load() -> None:
    """Load a source into the project's store."""


@load.command("boundaries")
@click.argument("file", type=existing_file)
@click.option("--layer", default=None, help="Layer to load (default: gemeenten, wijken, buurten).")
@click.option("--year", default=None, type=int, help="Boundary year (default: from the file).")
@replace_option
@project_option
def load_boundaries(file: Path, layer: str | None, year: int | None, allow_shrink: bool,
                    project_dir: Path) -> None:
    """CBS wijk- en buurtkaart (GeoPackage) or GeoJSON/GPKG with statcode/statnaam."""
    _report(_project(project_dir).load_boundaries(file, layer=layer, year=year,
                                                  allow_shrink=allow_shrink))


@load.command("bedrijventerreinen")
@click.argument("file", type=existing_file)
@click.option("--id-field", default=None, help="Id column of an own layer (default RIN_NUMMER).")
@click.option("--name-field", default=None, help="Name column (default PLAN_NAAM).")
@click.option("--layer", default=None, help="Layer in the file.")
@replace_option
@project_option
def load_bedrijventerreinen(file: Path, id_field: str | None, name_field: str | None,
                            layer: str | None, allow_shrink: bool, project_dir: Path) -> None:
    """IBIS bedrijventerreinen or an own polygon layer."""
    _report(_project(project_dir).load_bedrijventerreinen(file, id_field, name_field, layer,
                                                          allow_shrink=allow_shrink))


@load.command("cbs")
@click.option("--year", required=True, type=int, help="Statistics year, 2019..2024.")
@click.option("--offline", is_flag=True, help="Read the cache only.")
@click.option("--police/--no-police", default=True, show_default=True,
              help="Also load registered crime per buurt (47018NED).")
@replace_option
@project_option
def load_cbs(year: int, offline: bool, police: bool, allow_shrink: bool, project_dir: Path) -> None:
    """CBS Kerncijfers wijken en buurten (and police crime per buurt) through cbsodata."""
    project = _project(project_dir)
    _report(project.load_cbs(year, offline=offline, allow_shrink=allow_shrink))
    if police:
        _report(project.load_police(offline=offline, allow_shrink=allow_shrink))


@load.command("kvk")
@click.argument("file", type=existing_file)
@click.option("--mapping", default=None, type=existing_file, help="YAML: template column: header.")
@click.option("--sbi", "sbi", default=None,
              help="SBI version of the codes, 2008 or 2025 (default: from the extract).")
@click.option("--format", "format_", default="auto", show_default=True,
              help="auto, kvk-api (KVK API JSON or its flattened CSV) or sjabloon.")
@replace_option
@project_option
def load_kvk(file: Path, mapping: Path | None, sbi: str | None, format_: str, allow_shrink: bool,
             project_dir: Path) -> None:
    """A business-register (KvK) extract (see `riskmap docs kvk`)."""
    _report(_project(project_dir).load_kvk(file, mapping, sbi=sbi, format=format_,
                                           allow_shrink=allow_shrink))


@load.command("bag")
@click.argument("file", type=existing_file)
@click.option("--mapping", default=None, type=existing_file, help="YAML: template column: header.")
@replace_option
@project_option
def load_bag(file: Path, mapping: Path | None, allow_shrink: bool, project_dir: Path) -> None:
    """BAG addresses: NLExtract bagadres-full.csv, PDOK bag-light.gpkg or the template."""
    _report(_project(project_dir).load_bag(file, mapping, allow_shrink=allow_shrink))


@load.command("register")
@click.argument("kind", type=click.Choice(["meldingen", "maatregelen", "bibob", "hennep",
                                          "controles"]))
@click.argument("file", type=existing_file)
@click.option("--mapping", default=None, type=existing_file, help="YAML: template column: header.")
@replace_option
@project_option
def load_register(kind: str, file: Path, mapping: Path | None, allow_shrink: bool,
                  project_dir: Path) -> None:
    """A municipal register export (see docs/registers.md for the templates)."""
    _report(_project(project_dir).load_register(kind, file, mapping, allow_shrink=allow_shrink))


@cli.command()
@click.argument("load_id", required=False, type=int, metavar="[LADING]")
@project_option
def undo(load_id: int | None, project_dir: Path) -> None:
    """Maak een lading ongedaan (standaard de laatste): haar rijen gaan eruit en wat ze
    verving komt precies terug. `riskmap status` toont welke ladingen dat kunnen."""
    done = _project(project_dir).undo(load_id)
    _say(f"lading {done['load_id']} ({done['source']} {done['slice']}) ongedaan gemaakt: "
         f"{fmt.integer(done['removed'])} rijen verwijderd, {fmt.integer(done['restored'])} "
         f"teruggezet; bouw de kwartalen opnieuw met `riskmap build`")


@cli.command()
@click.option("--period", required=True, help="Quarter, e.g. 2025Q3.")
@click.option("--online-map", is_flag=True, help="Use the PDOK basemap (needs a network).")
@project_option
def build(period: str, online_map: bool, project_dir: Path) -> None:
    """Compute indicators and scores for a quarter and write its outputs."""
    project = _project(project_dir)
    quarter = Period.parse(period)
    results = project.build(quarter)
    for level, result in results.items():
        n = result.scores["theme"].eq("totaal").sum() if not result.scores.empty else 0
        _say(f"{level}: {result.values['indicator'].nunique()} indicators, {n} areas scored")
    for name, path in write_outputs(project, quarter, offline=not online_map).items():
        _say(f"  {name:<10} {path.resolve()}")


def _paths(paths: dict[str, Path]) -> None:
    """One line per output; the static maps (a PNG and a PDF per theme) as one line."""
    maps = [path for path in paths.values() if path.parent.name == "kaarten"]
    for name, path in paths.items():
        if path.parent.name != "kaarten":
            _say(f"  {name:<16} {path.resolve()}")
    if maps:
        _say(f"  {'kaarten':<16} {maps[0].parent.resolve()} ({len(maps)} files: PNG and PDF "
             f"per map)")


@cli.command("map")
@click.option("--period", required=True, help="Quarter, e.g. 2025Q3 (must be built).")
@click.option("--offline", is_flag=True,
              help="One HTML file that makes no network request (no basemap).")
@project_option
def map_command(period: str, offline: bool, project_dir: Path) -> None:
    """Interactive map (kaart.html) and static maps per theme (PNG and PDF)."""
    _paths(_project(project_dir).map(period, offline=offline))


@cli.command()
@click.option("--period", required=True, help="Quarter, e.g. 2025Q3 (must be built).")
@click.option("--pdf", is_flag=True, help="Also write the driehoek briefing (PDF).")
@project_option
def report(period: str, pdf: bool, project_dir: Path) -> None:
    """The quarterly gebiedsanalyse (one self-contained HTML file)."""
    _paths(_project(project_dir).report(period, pdf=pdf))


@cli.command()
@click.option("--period", required=True, help="Quarter, e.g. 2025Q3 (must be built).")
@click.option("--capacity", required=True, type=click.IntRange(min=1),
              help="Controles (visits to establishments) available; a cell takes one per "
                   "establishment.")
@click.option("--exclude-recent", default=1, show_default=True, type=click.IntRange(min=0),
              help="Skip areas with a controle in this many quarters up to PERIOD (0 = none).")
@project_option
def targets(period: str, capacity: int, exclude_recent: int, project_dir: Path) -> None:
    """Target list for integrale controles (CSV and XLSX, Dutch headers)."""
    _paths(_project(project_dir).targets(period, capacity, exclude_recent))


@cli.command()
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Bestand voor het dashboard (standaard: output/dashboard.html).")
@click.option("--tolerance", default=None, type=click.FloatRange(min=0),
              help="Vereenvoudiging van de gebiedsgrenzen in meter (standaard 2; 20 boven 2.000 "
                   "buurten).")
@project_option
def dashboard(out: Path | None, tolerance: float | None, project_dir: Path) -> None:
    """Dashboard: één HTML-bestand over alle berekende kwartalen, werkt zonder netwerk."""
    _paths({"dashboard": _project(project_dir).dashboard(out, tolerance)})


@cli.command()
@click.option("--period", required=True, help="Quarter, e.g. 2025Q3 (built, for buurt and wijk).")
@click.option("--variable", default=None,
              help="totaal, a theme or an indicator id; on the grid an event kind or signalen. "
                   "Default: totaal (grid: signalen).")
@click.option("--level", default="buurt", show_default=True, type=click.Choice(LEVELS))
@click.option("--method", default="gi_star", show_default=True, type=click.Choice(METHODS))
@click.option("--alpha", default=0.05, show_default=True,
              type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="False discovery rate (Benjamini-Hochberg).")
@project_option
def hotspots(period: str, variable: str | None, level: str, method: str, alpha: float,
             project_dir: Path) -> None:
    """Hot and cold spots (Gi* or local Moran, FDR-controlled): stored and printed."""
    result = _project(project_dir).hotspots(period, variable, level, method, alpha)
    counts = result["category"].map(CATEGORY_LABELS).value_counts()
    _say(f"{result['variable'].iloc[0]} ({level}, {period}, {method}, FDR {alpha:g}): "
         + ", ".join(f"{n} {label}" for label, n in counts.items()))
    _say(_table(public_table(shown_hotspots(result), "riskmap hotspots")))


@cli.command()
@click.option("--from", "first", required=True, help="First quarter ranked, e.g. 2024Q2.")
@click.option("--to", "last", required=True,
              help="Last quarter ranked; the quarter after it must have controles.")
@click.option("--k", default=10, show_default=True, type=click.IntRange(min=1),
              help="Precision is measured in the top k areas.")
@click.option("--level", default="buurt", show_default=True,
              type=click.Choice(["buurt", "wijk", "bedrijventerrein"]))
@project_option
def backtest(first: str, last: str, k: int, level: str, project_dir: Path) -> None:
    """Do score and hit-rate model of each quarter rank the areas where controles found
    something in the next quarter? Table (CSV) and plot (PNG)."""
    result = _project(project_dir).backtest(first, last, level, k)
    means = backtest_table(result.table[result.table["period"] == MEAN])
    shown = [HEADERS[c] for c in ("method", "precision_at_k", "auc")]
    _say(f"Mean over {first}..{last} (top {k}):")
    _say(_table(public_table(means[shown], "riskmap backtest")))
    _paths(result.outputs)


@cli.command("track-record")
@click.option("--period", required=True, help="Quarter whose outputs use the record, e.g. "
              "2025Q3 (must be built).")
@click.option("--k", default=10, show_default=True, type=click.IntRange(min=1),
              help="Precision is measured in the top k areas.")
@project_option
def track_record(period: str, k: int, project_dir: Path) -> None:
    """Backtest the quarters before PERIOD and choose the ranking its outputs use."""
    table = _project(project_dir).track_record(period, k=k)
    means = backtest_table(table[table["period"] == MEAN])
    shown = [HEADERS[c] for c in ("method", "precision_at_k", "auc")]
    _say(_table(public_table(means[shown], "riskmap track-record")))


@cli.command()
@project_option
def status(project_dir: Path) -> None:
    """What is loaded: sources, rows, periods and lineage."""
    info = _project(project_dir).status()
    _say(f"Project {project_dir.resolve()}\n")
    _say("Loads (lineage):")
    _say(_table(info["lineage"]))
    _say("\nRows per table:")
    _say(_table(info["tables"]))
    _say("\nRegister events:")
    _say(_table(info["events"]))
    _say("\nBuilt periods:")
    _say(_table(info["builds"]))
    _say("\nTerug te draaien met `riskmap undo [LADING]` (nieuwste eerst):")
    undoable = info["undoable"].assign(loaded_at=info["undoable"]["loaded_at"].dt.floor("s"))
    _say(_table(undoable.rename(columns=UNDO_HEADERS)))


UNDO_HEADERS = {"load_id": "lading", "source": "bron", "slice": "deel", "loaded_at": "geladen",
                "rows": "rijen nu", "restores": "rijen terug"}


@cli.command("docs")
@click.argument("what", type=click.Choice(list(REFERENCES)))
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of printing.")
def docs_command(what: str, out: Path | None) -> None:
    """Reference documentation generated from the catalogues (Markdown)."""
    text = REFERENCES[what]()
    if out:
        out.write_text(text, encoding="utf-8")
        _say(f"wrote {out}")
    else:
        click.echo(text, nl=False)


def _table(frame: Any) -> str:
    return "  (none)" if frame.empty else frame.to_string(index=False, max_colwidth=60)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; user errors print one line and exit with code 2."""
    try:
        cli.main(args=argv, prog_name="riskmap", standalone_mode=False)
    except click.exceptions.Abort:
        _end_console(succeeded=True)
        click.echo("riskmap: afgebroken", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        _end_console(succeeded=False)
        click.echo(f"riskmap: fout: {exc.format_message()}", err=True)
        sys.exit(2)
    except RiskmapError as exc:
        _end_console(succeeded=False)
        log.debug("refused: %s", exc)
        click.echo(f"riskmap: fout: {exc}", err=True)
        sys.exit(2)
    except duckdb.Error as exc:  # a store that cannot be read part-way through a command
        _end_console(succeeded=False)
        log.debug("store error", exc_info=True)
        click.echo(f"riskmap: fout: de opslag (riskmap.duckdb) is niet te lezen of te schrijven "
                   f"({_first_line(exc)}); herstel: {STORE_RECOVERY}{_see_log()}", err=True)
        sys.exit(2)
    except Exception as exc:  # the last resort: never a traceback on the console
        _end_console(succeeded=False)
        log.debug("unexpected error", exc_info=True)
        click.echo(f"riskmap: fout: onverwachte fout ({type(exc).__name__}: {_first_line(exc)})"
                   f"; riskmap kon de invoer niet verwerken{_see_log()}", err=True)
        sys.exit(2)
    _end_console(succeeded=True)
    sys.exit(0)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else "geen melding"


def _see_log() -> str:
    """Where the full traceback of this run is (its log file), when there is one."""
    return f"; details in {_RUN_LOG[0].baseFilename}" if _RUN_LOG else ""


if __name__ == "__main__":
    main()
