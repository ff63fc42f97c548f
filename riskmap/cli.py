"""The ``riskmap`` command: a thin layer over :class:`riskmap.Project` and
:func:`riskmap.pipeline.run_quarter`. Everything it prints is Dutch.

Every user mistake (a wrong command, a missing project or file, bad input) prints one line and
exits with code 2; nothing is half-written.
"""

from __future__ import annotations

import atexit
import gc
import logging
import logging.handlers
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from riskmap import _click_nl, _memory, fmt
from riskmap.areatypes import area_types, scored_levels
from riskmap.errors import RiskmapError
from riskmap.fmt import integer, number
from riskmap.models.choices import LEVELS, METHODS
from riskmap.periods import Period

if TYPE_CHECKING:
    from riskmap.pipeline import QuarterRun
    from riskmap.project import Project
    from riskmap.store import LoadRecord

# The library is imported where a command needs it, so `riskmap --help` and the refusal of a
# wrong command do not pay for pandas, DuckDB, geopandas, scipy and scikit-learn.
REFERENCE_NAMES = ("indicators", "registers", "config", "branches", "kvk")

log = logging.getLogger("riskmap")
_click_nl.install()

project_option = click.option(
    "--project", "-p", "project_dir", default=".", envvar="RISKMAP_PROJECT", show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Projectmap (met riskmap.yaml); standaard de huidige map of $RISKMAP_PROJECT.")
period_option = click.option("--period", required=True, metavar="KWARTAAL",
                             help="Kwartaal, bijvoorbeeld 2025Q3 (ook 2025-Q3 of 2025q3).")
online_option = click.option(
    "--online-map", is_flag=True,
    help="Kaart met de PDOK BRT-Achtergrondkaart als ondergrond (vraagt netwerk). Standaard is "
         "kaart.html offline: één bestand zonder netwerkaanvragen.")
existing_file = click.Path(exists=False, dir_okay=False, path_type=Path)
file_argument = click.argument("file", type=existing_file, metavar="BESTAND")
replace_option = click.option(
    "--vervang", "allow_shrink", is_flag=True,
    help="Bevestig dat deze lading de opgeslagen rijen mag vervangen door veel minder (of geen) "
         "rijen; zonder deze optie wordt zo'n lading geweigerd. Terug te draaien met "
         "`riskmap undo`.")
level_choice = click.Choice(scored_levels(), case_sensitive=False)


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


@click.group(cls=_click_nl.Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--quiet", "-q", is_flag=True, help="Alleen waarschuwingen en fouten tonen.")
@click.option("--verbose", "-v", is_flag=True, help="Ook details voor ontwikkelaars tonen.")
@click.version_option(package_name="riskmap", message="%(prog)s, versie %(version)s")
def cli(quiet: bool, verbose: bool) -> None:
    """riskmap: waar het risico op ondermijning hoger is, per buurt, wijk en
    bedrijventerrein.

    Begin met `riskmap demo` of `riskmap init`; een kwartaal draai je met `riskmap kwartaal`.
    """
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
    from riskmap._forked import settled
    from riskmap.project import Project

    project = Project(project_dir)
    _log_to_file(project.root / "logs")
    context = click.get_current_context()
    context.with_resource(settled())  # what is imported by now lives as long as the command
    context.with_resource(project.lock(context.command_path))
    return project


def _say(text: str) -> None:
    click.echo(text)


def _report(record: LoadRecord) -> None:
    _say(record.summary())


@cli.command()
@click.option("--out", "out", default="out/demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Map voor het demoproject.")
def demo(out: Path) -> None:
    """Maak de demogemeente Havenwaard en draai er het hele kwartaal op."""
    from riskmap.demo import run_demo

    log_file = _log_to_file(out / "logs")
    run = run_demo(out)
    for record in run.loads:
        _report(record)
    if run.quarter is not None:
        _stages(run.quarter)
    _say(f"\nDemoproject: {out.resolve()}")
    _say(f"Bronnen (echte formaten): {(out / 'sources').resolve()}")
    _say(f"Logboek van deze run: {log_file.resolve()}")
    _paths(run.outputs)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path),
                metavar="[MAP]")
@click.option("--project", "-p", "project_dir", default=None,
              type=click.Path(file_okay=False, path_type=Path),
              help="Projectmap om te maken (of geef de map als argument).")
@click.option("--gemeente", required=True, help="CBS-code van de gemeente, bijvoorbeeld GM0034.")
@click.option("--year", default=2024, show_default=True, type=int,
              help="Jaar van de wijk- en buurtkaart.")
@click.option("--naam", default=None, help="Naam van de gemeente in rapporten.")
def init(directory: Path | None, project_dir: Path | None, gemeente: str, year: int,
         naam: str | None) -> None:
    """Maak een projectmap met een riskmap.yaml vol uitleg."""
    if directory and project_dir and directory != project_dir:
        raise click.UsageError("geef de projectmap één keer: als argument of met -p")
    target = directory or project_dir
    if target is None:
        raise click.UsageError("geef de projectmap: riskmap init -p MAP --gemeente GM....")
    from riskmap.project import Project

    project = Project.init(target, gemeente.upper(), year, naam=naam)
    _say(f"project gemaakt: {project.root.resolve()} (pas riskmap.yaml aan en laad dan de "
         f"bronnen met `riskmap load ...`)")


@cli.group()
def load() -> None:
    """Laad een bron in de opslag van het project."""


@load.command("boundaries")
@file_argument
@click.option("--layer", default=None,
              help="Laag om te laden (standaard: gemeenten, wijken en buurten).")
@click.option("--year", default=None, type=int, help="Jaar van de indeling (standaard: uit het "
                                                       "bestand).")
@replace_option
@project_option
def load_boundaries(file: Path, layer: str | None, year: int | None, allow_shrink: bool,
                    project_dir: Path) -> None:
    """CBS wijk- en buurtkaart (GeoPackage) of GeoJSON/GPKG met statcode/statnaam."""
    _report(_project(project_dir).load_boundaries(file, layer=layer, year=year,
                                                  allow_shrink=allow_shrink))


def _area_command(level: str) -> None:
    """``riskmap load <bron> FILE`` for one analysis-area type of ``config/area_types.yaml``."""
    area_type = area_types()[level]

    @load.command(area_type.source, help=f"{area_type.plural}: vlakkenlaag met id en naam "
                                        f"({area_type.note})")
    @file_argument
    @click.option("--id-field", default=None, help=f"Kolom met de id (standaard "
                                                   f"{area_type.id_field}).")
    @click.option("--name-field", default=None, help=f"Kolom met de naam (standaard "
                                                     f"{area_type.name_field}).")
    @click.option("--layer", default=None, help="Laag in het bestand.")
    @replace_option
    @project_option
    def command(file: Path, id_field: str | None, name_field: str | None, layer: str | None,
                allow_shrink: bool, project_dir: Path) -> None:
        _report(_project(project_dir).load_areas(level, file, id_field, name_field, layer,
                                                 allow_shrink=allow_shrink))


for _level in area_types():
    _area_command(_level)


@load.command("cbs")
@click.option("--year", required=True, type=int, help="Jaar van de statistiek, 2019..2024.")
@click.option("--offline", is_flag=True, help="Alleen uit de bewaarde antwoorden lezen.")
@click.option("--police/--no-police", default=True, show_default=True,
              help="Ook de geregistreerde misdrijven per buurt laden (47018NED).")
@replace_option
@project_option
def load_cbs(year: int, offline: bool, police: bool, allow_shrink: bool, project_dir: Path) -> None:
    """CBS Kerncijfers wijken en buurten (en politiecijfers per buurt) via cbsodata."""
    project = _project(project_dir)
    _report(project.load_cbs(year, offline=offline, allow_shrink=allow_shrink))
    if police:
        _report(project.load_police(offline=offline, allow_shrink=allow_shrink))


@load.command("kvk")
@file_argument
@click.option("--mapping", default=None, type=existing_file,
              help="YAML: sjabloonkolom: kolomkop in het bestand.")
@click.option("--sbi", "sbi", default=None,
              help="SBI-versie van de codes, 2008 of 2025 (standaard: uit het uittreksel).")
@click.option("--format", "format_", default="auto", show_default=True,
              help="auto, kvk-api (JSON van de KVK-API of de platte CSV ervan) of sjabloon.")
@replace_option
@project_option
def load_kvk(file: Path, mapping: Path | None, sbi: str | None, format_: str, allow_shrink: bool,
             project_dir: Path) -> None:
    """Een uittreksel uit het handelsregister (KvK); zie `riskmap docs kvk`."""
    _report(_project(project_dir).load_kvk(file, mapping, sbi=sbi, format=format_,
                                           allow_shrink=allow_shrink))


@load.command("bag")
@file_argument
@click.option("--mapping", default=None, type=existing_file,
              help="YAML: sjabloonkolom: kolomkop in het bestand.")
@replace_option
@project_option
def load_bag(file: Path, mapping: Path | None, allow_shrink: bool, project_dir: Path) -> None:
    """BAG-adressen: NLExtract bagadres-full.csv, PDOK bag-light.gpkg of het sjabloon."""
    _report(_project(project_dir).load_bag(file, mapping, allow_shrink=allow_shrink))


@load.command("register")
@click.argument("kind", type=click.Choice(["meldingen", "maatregelen", "bibob", "hennep",
                                          "controles"]))
@file_argument
@click.option("--mapping", default=None, type=existing_file,
              help="YAML: sjabloonkolom: kolomkop in het bestand.")
@replace_option
@project_option
def load_register(kind: str, file: Path, mapping: Path | None, allow_shrink: bool,
                  project_dir: Path) -> None:
    """Een export uit een gemeentelijk register (sjablonen: docs/registers.md)."""
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
         f"teruggezet; bouw de kwartalen opnieuw met `riskmap kwartaal`")


@cli.command()
@period_option
@click.option("--from", "first", default=None, metavar="KWARTAAL",
              help="Ook de kwartalen vanaf dit kwartaal berekenen die nog niet berekend zijn "
                   "(opkomende hotspots vragen er vier), bijvoorbeeld 2024Q4.")
@click.option("--capacity", default=None, type=click.IntRange(min=1),
              help="Controles voor de doelenlijst (standaard targets.capacity uit riskmap.yaml).")
@click.option("--exclude-recent", default=None, type=click.IntRange(min=0),
              help="Gebieden met een controle in zoveel kwartalen overslaan (standaard "
                   "targets.exclude_recent).")
@online_option
@project_option
def kwartaal(period: str, first: str | None, capacity: int | None, exclude_recent: int | None,
             online_map: bool, project_dir: Path) -> None:
    """Het hele kwartaal in één keer: indicatoren, scores, hotspots, opkomende hotspots,
    trefkansmodel en terugtoets, dan kaarten, gebiedsanalyse, briefing, doelenlijst en
    exports. Opnieuw draaien geeft dezelfde uitvoer."""
    from riskmap.pipeline import run_quarter

    run = run_quarter(_project(project_dir), Period.parse(period), first, offline=not online_map,
                      capacity=capacity, exclude_recent=exclude_recent)
    _stages(run)
    _paths(run.outputs)


def _stages(run: QuarterRun) -> None:
    from riskmap.pipeline import SKIPPED

    _say(f"Kwartaal {run.period}:")
    for stage in run.stages:
        mark = "–" if stage.status == SKIPPED else "✓"
        _say(f"  {mark} {stage.name}: {stage.status}{f' – {stage.note}' if stage.note else ''}")


@cli.command()
@period_option
@online_option
@project_option
def build(period: str, online_map: bool, project_dir: Path) -> None:
    """Eerste stap van het kwartaal: indicatoren en scores berekenen en de tabellen en kaarten
    schrijven. `riskmap kwartaal` doet dit en alle stappen erna."""
    project = _project(project_dir)
    quarter = Period.parse(period)
    results = project.build(quarter, meanwhile=_writers)
    for level, result in results.items():
        n = result.scores["theme"].eq("totaal").sum() if not result.scores.empty else 0
        _say(f"{level}: {result.values['indicator'].nunique()} indicatoren, {integer(n)} "
             f"gebieden met een score")
    _paths(project.tables_and_maps(quarter, offline=not online_map))
    _say("Hotspots, modellen, rapporten en exports: `riskmap kwartaal --period "
         f"{quarter}`.")


def _writers() -> None:
    """Import the writers of the tables and maps (while the quarter is computed)."""
    import riskmap.reports.outputs  # noqa: F401


def _paths(paths: dict[str, Path]) -> None:
    """One line per output; the static maps (a PNG and a PDF per theme) as one line."""
    maps = [path for path in paths.values() if path.parent.name == "kaarten"]
    for name, path in paths.items():
        if path.parent.name != "kaarten":
            _say(f"  {name:<17} {path.resolve()}")
    if maps:
        _say(f"  {'kaarten':<17} {maps[0].parent.resolve()} ({len(maps)} bestanden: PNG en "
             f"PDF per kaart)")


@cli.command("map")
@period_option
@online_option
@click.option("--offline", is_flag=True, hidden=True,
              help="Verouderd: offline is de standaard.")
@project_option
def map_command(period: str, online_map: bool, offline: bool, project_dir: Path) -> None:
    """Interactieve kaart (kaart.html) en vaste kaarten per thema (PNG en PDF)."""
    if online_map and offline:
        raise click.UsageError("--online-map en --offline sluiten elkaar uit")
    _paths(_project(project_dir).map(period, offline=not online_map))


@cli.command()
@period_option
@click.option("--pdf", is_flag=True, help="Ook de briefing voor de driehoek (PDF) schrijven.")
@project_option
def report(period: str, pdf: bool, project_dir: Path) -> None:
    """De gebiedsanalyse van het kwartaal (één HTML-bestand)."""
    _paths(_project(project_dir).report(period, pdf=pdf))


@cli.command()
@period_option
@click.option("--capacity", default=None, type=click.IntRange(min=1),
              help="Beschikbare controles (bezoeken aan vestigingen); een cel vraagt er één "
                   "per vestiging. Standaard targets.capacity uit riskmap.yaml.")
@click.option("--exclude-recent", default=None, type=click.IntRange(min=0),
              help="Gebieden met een controle in zoveel kwartalen tot en met --period overslaan "
                   "(0 = geen; standaard targets.exclude_recent).")
@project_option
def targets(period: str, capacity: int | None, exclude_recent: int | None,
            project_dir: Path) -> None:
    """Doelenlijst voor integrale controles (CSV en XLSX)."""
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
@period_option
@click.option("--variable", default=None,
              help="totaal, een thema of een indicator-id; op het raster een soort "
                   "gebeurtenis of signalen. Standaard: totaal (raster: signalen).")
@click.option("--level", default="buurt", show_default=True,
              type=click.Choice(LEVELS, case_sensitive=False), help="Niveau.")
@click.option("--method", default="gi_star", show_default=True, type=click.Choice(METHODS),
              help="Methode.")
@click.option("--alpha", default=0.05,
              type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Toegestaan aandeel valse ontdekkingen (Benjamini-Hochberg); standaard 0,05.")
@project_option
def hotspots(period: str, variable: str | None, level: str, method: str, alpha: float,
             project_dir: Path) -> None:
    """Hot- en coldspots (Gi* of lokale Moran, met FDR-correctie): opgeslagen en getoond.
    Een bestaande kaart.html van het kwartaal wordt bijgewerkt."""
    from riskmap.indicators.privacy import public_table
    from riskmap.models.hotspots import CATEGORY_LABELS, shown_hotspots

    project = _project(project_dir)
    result = project.hotspots(period, variable, level, method, alpha)
    counts = result["category"].map(CATEGORY_LABELS).value_counts()
    _say(f"{result['variable'].iloc[0]} ({level}, {Period.parse(period)}, {method}, FDR "
         f"{number(alpha, 2)}): " + ", ".join(f"{integer(n)} {label}"
                                              for label, n in counts.items()))
    _say(_table(public_table(shown_hotspots(result), "riskmap hotspots")))
    _refresh_map(project, period)


def _refresh_map(project: Project, period: str) -> None:
    """Rewrite the quarter's kaart.html when there is one, so it shows the new layers."""
    quarter = Period.parse(period)
    if (project.output_dir / str(quarter) / "kaart.html").exists():
        _paths(project.map(quarter))


@cli.command()
@click.option("--from", "first", default=None, metavar="KWARTAAL",
              help="Eerste kwartaal (standaard: het eerste berekende).")
@click.option("--to", "last", default=None, metavar="KWARTAAL",
              help="Laatste kwartaal (standaard: het laatste berekende).")
@click.option("--level", default="buurt", show_default=True,
              type=click.Choice(LEVELS, case_sensitive=False), help="Niveau.")
@project_option
def emerging(first: str | None, last: str | None, level: str, project_dir: Path) -> None:
    """Opkomende hotspots over de berekende kwartalen (nieuw, aanhoudend, toenemend, ...)."""
    project = _project(project_dir)
    table = project.emerging_hotspots(first, last, level=level)
    counts = table["category"].value_counts()
    _say(f"Opkomende hotspots ({level}, {table['first_period'].iloc[0]} t/m "
         f"{table['last_period'].iloc[0]}): " + ", ".join(
             f"{integer(n)} {EMERGING_LABELS.get(c, c)}" for c, n in counts.items()))
    _refresh_map(project, str(table["last_period"].iloc[0]))


EMERGING_LABELS = {"new": "nieuw", "intensifying": "toenemend", "persistent": "aanhoudend",
                   "sporadic": "sporadisch", "diminishing": "afnemend", "former": "voormalig",
                   "no_pattern": "geen patroon"}


@cli.command()
@period_option
@click.option("--level", default="buurt", show_default=True, type=level_choice, help="Niveau.")
@project_option
def predict(period: str, level: str, project_dir: Path) -> None:
    """Kans dat een controle in het volgende kwartaal iets vindt, per gebied (trefkansmodel);
    opgeslagen voor kaarten en doelenlijst."""
    import pandas as pd

    from riskmap.indicators.privacy import public_table

    table = _project(project_dir).predict(period, level)
    top = table.sort_values("probability", ascending=False).head(10)
    shown = pd.DataFrame({"Code": top["code"], "Naam": top["name"],
                          "Kans op bevinding": top["probability"].map(fmt.percent),
                          "Waarom": top["explanation"].map("; ".join)})
    _say(f"Trefkansmodel {Period.parse(period)} ({level}), hoogste tien:")
    _say(_table(public_table(shown, "riskmap predict")))


@cli.command()
@click.option("--from", "first", required=True, metavar="KWARTAAL", help="Eerste gerangschikte kwartaal, "
                                                       "bijvoorbeeld 2024Q2.")
@click.option("--to", "last", required=True, metavar="KWARTAAL",
              help="Laatste gerangschikte kwartaal; het kwartaal erna moet controles hebben.")
@click.option("--k", default=10, show_default=True, type=click.IntRange(min=1),
              help="De precisie wordt gemeten in de hoogste k gebieden.")
@click.option("--level", default="buurt", show_default=True, type=level_choice, help="Niveau.")
@project_option
def backtest(first: str, last: str, k: int, level: str, project_dir: Path) -> None:
    """Terugtoets: rangschikken score en trefkansmodel van elk kwartaal de gebieden waar
    controles in het kwartaal erna iets vonden? Tabel (CSV) en grafiek (PNG)."""
    result = _project(project_dir).backtest(first, last, level, k)
    _say(f"Gemiddeld over {Period.parse(first)} t/m {Period.parse(last)} (top {k}):")
    _say(_mean_backtest(result.table, "riskmap backtest"))
    _paths(result.outputs)


@cli.command("track-record")
@period_option
@click.option("--k", default=10, show_default=True, type=click.IntRange(min=1),
              help="De precisie wordt gemeten in de hoogste k gebieden.")
@project_option
def track_record(period: str, k: int, project_dir: Path) -> None:
    """Trackrecord: toets de kwartalen vóór --period (score, trefkansmodel, gecombineerde
    rangorde en beide basislijnen) en kies de rangorde die de uitvoer van dat kwartaal
    gebruikt."""
    table = _project(project_dir).track_record(period, k=k)
    _say(f"Gemiddeld over de getoetste kwartalen vóór {Period.parse(period)} (top {k}):")
    _say(_mean_backtest(table, "riskmap track-record"))


def _mean_backtest(table: Any, where: str) -> str:
    """The mean precision and AUC per ranking method of a backtest table, as shown."""
    from riskmap.indicators.privacy import public_table
    from riskmap.models.backtest import HEADERS, MEAN, backtest_table

    means = backtest_table(table[table["period"] == MEAN])
    shown = [HEADERS[c] for c in ("method", "precision_at_k", "auc")]
    return _table(public_table(means[shown], where))


@cli.command()
@period_option
@project_option
def export(period: str, project_dir: Path) -> None:
    """GeoPackage van het kwartaal (met QGIS-stijlen) en de historie over alle kwartalen
    (Parquet en CSV, voor Power BI)."""
    _paths(_project(project_dir).export(period))


STATUS_HEADERS = {"events": {"kind": "Soort", "rows": "Regels", "first": "Eerste datum",
                             "last": "Laatste datum"},
                  "builds": {"period": "Kwartaal", "built_at": "Berekend op"},
                  "tables": {"table": "Tabel", "rows": "Regels"}}


@cli.command()
@project_option
def status(project_dir: Path) -> None:
    """Wat er geladen is: bronnen, regels (gelezen = opgenomen + afgewezen), kwartalen en
    herkomst."""
    from riskmap.reports.outputs import LINEAGE_HEADERS, reasons_text

    info = _project(project_dir).status()
    lineage = info["lineage"].assign(rejects=info["lineage"]["rejects"].map(reasons_text))
    lineage = lineage.drop(columns=["path"]).rename(columns=LINEAGE_HEADERS)
    for column in ("Regels gelezen", "Regels opgenomen", "Regels afgewezen"):
        lineage[column] = lineage[column].map(integer)
    _say(f"Project {project_dir.resolve()}\n")
    _say("Ladingen (herkomst):")
    _say(_table(lineage))
    _say("\nRegels per tabel:")
    _say(_table(info["tables"].rename(columns=STATUS_HEADERS["tables"])))
    _say("\nGebeurtenissen uit registers:")
    _say(_table(info["events"].rename(columns=STATUS_HEADERS["events"])))
    _say("\nBerekende kwartalen:")
    _say(_table(info["builds"].rename(columns=STATUS_HEADERS["builds"])))
    _say("\nTerug te draaien met `riskmap undo [LADING]` (nieuwste eerst):")
    undoable = info["undoable"].assign(loaded_at=info["undoable"]["loaded_at"].dt.floor("s"))
    _say(_table(undoable.rename(columns=UNDO_HEADERS)))


UNDO_HEADERS = {"load_id": "lading", "source": "bron", "slice": "deel", "loaded_at": "geladen",
                "rows": "rijen nu", "restores": "rijen terug"}


@cli.command("docs")
@click.argument("what", type=click.Choice(REFERENCE_NAMES))
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Naar dit bestand schrijven in plaats van tonen.")
def docs_command(what: str, out: Path | None) -> None:
    """Naslag die uit de catalogi wordt gemaakt (Markdown)."""
    from riskmap.docs import REFERENCES

    text = REFERENCES[what]()
    if out:
        out.write_text(text, encoding="utf-8")
        _say(f"geschreven: {out}")
    else:
        click.echo(text, nl=False)


def _table(frame: Any) -> str:
    return "  (geen)" if frame.empty else frame.to_string(index=False, max_colwidth=60)


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
    except Exception as exc:  # the last resort: never a traceback on the console
        _end_console(succeeded=False)
        if _is_store_error(exc):  # a store that cannot be read part-way through a command
            from riskmap.store import STORE_RECOVERY

            log.debug("store error", exc_info=True)
            click.echo(f"riskmap: fout: de opslag (riskmap.duckdb) is niet te lezen of te "
                       f"schrijven ({_first_line(exc)}); herstel: {STORE_RECOVERY}{_see_log()}",
                       err=True)
            sys.exit(2)
        log.debug("unexpected error", exc_info=True)
        click.echo(f"riskmap: fout: onverwachte fout ({type(exc).__name__}: {_first_line(exc)})"
                   f"; riskmap kon de invoer niet verwerken{_see_log()}", err=True)
        sys.exit(2)
    _end_console(succeeded=True)
    sys.exit(0)


def run() -> None:
    """The ``riskmap`` command: :func:`main`, then the process ends without the interpreter
    tearing itself down, which frees every module and object one by one (a third of a second
    after the demo, with pandas, matplotlib, scipy and sklearn loaded) when nothing is left to
    do. Before it ends, as at a normal exit: the exit handlers run (:mod:`atexit`: forked
    processes joined, temporary files removed), reference cycles are collected (a file held in
    one is closed, so flushed), and the logs and console are flushed. The command and the
    processes it forks use normal memory pages only (:func:`riskmap._memory.small_pages`)."""
    code: int | str | None = 0
    _memory.small_pages()
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code
    if isinstance(code, str):  # as Python does: the message on standard error, status 1
        click.echo(code, err=True)
    atexit._run_exitfuncs()  # what a normal exit runs first
    gc.collect()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def _is_store_error(exc: BaseException) -> bool:
    """A DuckDB error (only possible once a command has imported DuckDB)."""
    duckdb = sys.modules.get("duckdb")
    return duckdb is not None and isinstance(exc, duckdb.Error)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else "geen melding"


def _see_log() -> str:
    """Where the full traceback of this run is (its log file), when there is one."""
    return f"; details in {_RUN_LOG[0].baseFilename}" if _RUN_LOG else ""


if __name__ == "__main__":
    main()
