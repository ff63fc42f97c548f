"""Project configuration (``riskmap.yaml``): options with defaults, docs and validators.

Every option has a default, a one-line doc and a validator; unknown keys are refused, so a typo
never silently falls back to a default. ``render_yaml`` writes the commented file ``riskmap init``
creates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from riskmap import _yaml
from riskmap.errors import ConfigError, ProjectError
from riskmap.fmt import integer, number

CONFIG_NAME = "riskmap.yaml"
STORE_NAME = "riskmap.duckdb"
KEY_NAME = "riskmap.key"

THEMES = (
    "drugs",
    "criminogene_branches",
    "mensenhandel",
    "vastgoed",
    "kwetsbaarheid",
    "gelegenheid",
    "witwassen",
    "zorg",
)
NORMALISATIONS = ("percentile", "zscore", "minmax")
AGGREGATIONS = ("arithmetic", "geometric")
PRIVACY_MIN_COUNT = 5
# register kinds the map's 500 m grid counts (riskmap.indicators.release.GRID)
GRID_KINDS = ("meldingen", "maatregelen", "bibob", "hennep")


@dataclass(frozen=True)
class Option:
    """One configuration option: its dotted key, default, doc and validator."""

    key: str
    default: Any
    doc: str
    validate: Callable[[Any], str | None]


def _one_of(*allowed: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"moet een van {{{', '.join(allowed)}}} zijn"

    return check


def _int_range(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return None if ok else f"moet een geheel getal van {integer(low)} tot en met {integer(high)} zijn"

    return check


def _number_range(low: float, high: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and low <= value <= high:
            return None
        return f"moet een getal van {number(low)} tot en met {number(high)} zijn"

    return check


def _gemeente(value: Any) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(r"GM\d{4}", value)
    return None if ok else "moet een CBS-gemeentecode zijn zoals GM0034"


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "moet true of false zijn"


def _text_or_null(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else "moet tekst zijn of leeg blijven"


def _theme_weights(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "moet een mapping van thema naar gewicht zijn"
    for theme, weight in value.items():
        if theme not in THEMES:
            return f"heeft onbekend thema {theme!r}; thema's zijn {{{', '.join(THEMES)}}}"
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
            return f"gewicht van {theme!r} moet een getal >= 0 zijn"
    return None


def _min_count(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= PRIVACY_MIN_COUNT
    return None if ok else f"moet een geheel getal >= {PRIVACY_MIN_COUNT} zijn (nooit zwakker)"


def _date(value: Any) -> str | None:
    if isinstance(value, date):
        return None
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return "moet een datum zijn geschreven als jjjj-mm-dd"
    return None


def _grid_sizes(value: Any) -> str | None:
    ok = isinstance(value, list) and value and all(v in (100, 500) for v in value)
    return None if ok else "moet een lijst zijn met waarden uit [100, 500] (CBS-celgroottes in meter)"


OPTIONS: tuple[Option, ...] = (
    Option("gemeente", None, "CBS-code van de gemeente van dit project, bijvoorbeeld GM0034.", _gemeente),
    Option("naam", None, "Naam van de gemeente zoals rapporten die tonen (mag leeg blijven).", _text_or_null),
    Option("boundary_year", 2024, "Jaar van de CBS wijk- en buurtkaart waaruit de gebieden komen.",
           _int_range(2014, 2100)),
    Option("privacy.min_count", PRIVACY_MIN_COUNT,
           "Aantallen hieronder staan in elke uitvoer als '<N'; nooit lager dan 5.", _min_count),
    Option("privacy.keep_coordinates", False,
           "Exacte coördinaten van vestigingen en gebeurtenissen in de store bewaren (standaard: "
           "nee).",
           _boolean),
    Option("scoring.normalisation", "percentile", "Normalisatie van de indicatoren vóór het wegen.",
           _one_of(*NORMALISATIONS)),
    Option("scoring.aggregation", "arithmetic", "Hoe indicatoren samen een themascore worden.",
           _one_of(*AGGREGATIONS)),
    Option("scoring.draws", 200,
           "Aantal herberekeningen voor de onzekerheid (verstoorde gewichten en normalisaties).",
           _int_range(0, 100_000)),
    Option("scoring.weight_spread", 0.5,
           "Relatieve spreiding van de gewichten in die herberekeningen (0,5 = gewicht x "
           "U(0,5; 1,5)).",
           _number_range(0.0, 1.0)),
    Option("scoring.seed", 20250930,
           "Startgetal van elke toevalsstap, zodat een berekening precies te herhalen is.",
           _int_range(0, 2**32 - 1)),
    Option("scoring.theme_weights", dict.fromkeys(THEMES, 1.0),
           "Gewicht van elk thema in de totaalscore.", _theme_weights),
    Option("targets.capacity", 40,
           "Aantal controles (bezoeken aan vestigingen) waarvoor de doelenlijst plant.",
           _int_range(1, 100_000)),
    Option("targets.exclude_recent", 1,
           "Gebieden met een controle in zoveel kwartalen tot en met het kwartaal overslaan "
           "(0 = geen).", _int_range(0, 40)),
    Option("grid.sizes", [100, 500],
           "Celgroottes (meter) van het CBS-raster waaraan records worden toegewezen.",
           _grid_sizes),
    Option("plausibility.first_event_date", "2000-01-01",
           "Vroegste aannemelijke datum van een registergebeurtenis; eerdere rijen worden "
           "afgewezen.", _date),
    Option("plausibility.first_start_date", "1800-01-01",
           "Vroegste aannemelijke datum_aanvang van een vestiging (1900-01-01, een bekende "
           "opvuldatum, wordt altijd afgewezen).", _date),
    Option("plausibility.future_days", 31,
           "Datums later dan vandaag plus dit aantal dagen worden afgewezen.",
           _int_range(0, 3660)),
    Option("plausibility.max_staff", 100_000,
           "Hoogste aannemelijke aantal werkzame personen van een vestiging.",
           _int_range(1, 10_000_000)),
    Option("loads.min_kept_share", 0.5,
           "Een lading die minder dan dit deel van de vervangen rijen overhoudt, vraagt om "
           "--vervang.", _number_range(0.0, 1.0)),
    Option("paths.cache", "cache",
           "Map (binnen het project) voor bewaarde CBS-antwoorden en rasters van de buurtgrenzen.",
           _text_or_null),
    Option("paths.output", "output", "Map (binnen het project) waar de uitvoer komt.",
           _text_or_null),
    Option("paths.catalogue", None,
           "Eigen indicatorcatalogus (YAML); leeg = de catalogus die bij riskmap hoort.",
           _text_or_null),
)
_BY_KEY = {o.key: o for o in OPTIONS}


@dataclass(frozen=True)
class Config:
    """A validated project configuration, read from ``riskmap.yaml``."""

    root: Path
    values: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def gemeente(self) -> str:
        """CBS code of the project's gemeente."""
        return str(self.values["gemeente"])

    @property
    def store_path(self) -> Path:
        """The project's DuckDB file."""
        return self.root / STORE_NAME

    @property
    def key_path(self) -> Path:
        """The pseudonymisation key (kept outside the DuckDB file)."""
        return self.root / KEY_NAME

    def path(self, key: str) -> Path:
        """A ``paths.*`` option resolved against the project folder."""
        return self.root / str(self.values[key])


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in _BY_KEY:
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def config_from_mapping(data: Mapping[str, Any], root: Path, source: str = CONFIG_NAME) -> Config:
    """Validate a nested mapping of options and fill in defaults.

    Raises
    ------
    ConfigError
        On an unknown key or an invalid value, naming the file, the key and what is allowed.
    """
    flat = _flatten(data)
    unknown = sorted(set(flat) - set(_BY_KEY))
    if unknown:
        raise ConfigError(f"{source}: onbekende optie {unknown[0]!r}; bekende opties: "
                          f"{', '.join(_BY_KEY)}")
    values = {o.key: o.default for o in OPTIONS} | flat
    for key, value in values.items():
        if key == "gemeente" and value is None:
            raise ConfigError(f"{source}: 'gemeente' is verplicht (een CBS-code zoals GM0034)")
        problem = _BY_KEY[key].validate(value)
        if problem:
            raise ConfigError(f"{source}: optie {key!r} {problem} (nu {value!r})")
    weights = values["scoring.theme_weights"]
    values["scoring.theme_weights"] = {t: float(weights.get(t, 0.0)) for t in THEMES}
    return Config(root=root, values=values)


def load_config(project: str | Path) -> Config:
    """Read and validate ``riskmap.yaml`` in a project folder."""
    root = Path(project)
    path = root / CONFIG_NAME
    if not path.is_file():
        raise ProjectError(f"{root}: geen riskmap-project (geen {CONFIG_NAME}); "
                           f"maak er een met `riskmap init -p {root} --gemeente GM....`")
    data = read_yaml(path, CONFIG_RECOVERY)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: verwacht opties (sleutel: waarde) op het hoogste niveau; "
                          f"{CONFIG_RECOVERY}")
    return config_from_mapping(data, root.resolve(), source=str(path))


CONFIG_RECOVERY = ("herstel: zet een reservekopie terug, of maak in een lege map een nieuw "
                   "bestand met `riskmap init` en neem de opties over")


def read_yaml(path: Path, recovery: str = "") -> Any:
    """The content of a YAML file, or a :class:`ConfigError` naming the file (and line) and
    what is wrong, followed by ``recovery``."""
    suffix = f"; {recovery}" if recovery else ""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: geen tekstbestand (byte {exc.start + 1} is geen UTF-8)"
                          f"{suffix}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: kan het bestand niet lezen ({exc.strerror}){suffix}") from None
    try:
        return _yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" regel {mark.line + 1}, kolom {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"{path}{where}: geen geldige YAML ({problem}){suffix}") from None


def render_yaml(values: Mapping[str, Any]) -> str:
    """The text of a commented ``riskmap.yaml`` holding ``values`` (other options at default)."""
    lines = ["# Instellingen van dit riskmap-project. Elke optie staat hieronder met uitleg; een "
             "onbekende optie wordt geweigerd.", ""]
    section = None
    for option in OPTIONS:
        value = values.get(option.key, option.default)
        head, _, leaf = option.key.rpartition(".")
        if head != section:
            if head:
                lines += ["", f"{head}:"]
            section = head
        indent = "  " if head else ""
        lines.append(f"{indent}# {option.doc}")
        dumped = yaml.safe_dump({leaf: value}, allow_unicode=True, default_flow_style=False,
                                sort_keys=False).rstrip("\n")
        lines += [indent + line for line in dumped.splitlines()]
    return "\n".join(lines) + "\n"
