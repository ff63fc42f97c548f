"""The indicator catalogue (``config/indicators.yaml``): read, validate, and look up.

A registry of measure kinds (``cbs``, ``establishments``, ``events``, ``addresses``, ``area``)
checks each numerator and denominator; an unknown theme, level, CBS variable, risk branch or
register category is a :class:`ConfigError` naming the indicator and the allowed values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskmap.areatypes import CBS_LEVELS, area_types, scored_levels
from riskmap.branches import risk_branches, sbi_groups
from riskmap.config import THEMES, read_yaml
from riskmap.errors import ConfigError
from riskmap.fmt import number
from riskmap.indicators.business import CHANGE_KINDS
from riskmap.sbi import config_file, sbi_prefixes
from riskmap.sources.cbs import known_variables
from riskmap.sources.register_kinds import register_kinds

INDICATOR_LEVELS = scored_levels()
SOURCES = ("cbs", "police", "kvk", "bag", "registers")
DIRECTIONS = {"higher": 1, "lower": -1}
# Themes scored on analysis areas only (config/area_types.yaml says on which), never on buurten.
AREA_ONLY_THEMES = ("gelegenheid",)
THEME_LABELS = {
    "drugs": "Drugs", "criminogene_branches": "Criminogene branches",
    "mensenhandel": "Mensenhandel en uitbuiting", "vastgoed": "Vastgoed en adresfraude",
    "kwetsbaarheid": "Kwetsbaarheid", "gelegenheid": "Gelegenheidsstructuren",
    "witwassen": "Witwassen", "zorg": "Zorg(fraude)",
    "totaal": "Totaalscore",
}


def theme_levels(theme: str) -> tuple[str, ...]:
    """The levels a theme is scored at: buurt and wijk (unless the theme is one of analysis
    areas only) and every analysis-area type that lists it."""
    cbs = () if theme in AREA_ONLY_THEMES else CBS_LEVELS
    return (*cbs, *(k for k, t in area_types().items() if theme in t.themes))
FLOWS = ("started", "ended", "churn", "short_lived", "succession")
_REQUIRED = ("id", "label", "themes", "levels", "source", "numerator", "direction", "rationale")
_ALLOWED = set(_REQUIRED) | {"denominator", "scale", "unit", "window", "min_denominator",
                             "optional", "weight", "fallback_for"}
# What a denominator counts, in Dutch, for the reasons an area has no score; only public
# denominators are named (a register count below the minimum is never described).
DENOMINATOR_NOUNS = {"AantalInwoners": "inwoners", "Woningvoorraad": "woningen",
                     "HuishoudensTotaal": "huishoudens"}


@dataclass(frozen=True)
class Measure:
    """A numerator or denominator: a measure kind and its parameters."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Indicator:
    """One catalogue entry."""

    id: str
    label: str
    themes: tuple[str, ...]
    levels: tuple[str, ...]
    source: str
    numerator: Measure
    denominator: Measure | None
    scale: float
    unit: str
    direction: int
    window: int | None
    min_denominator: float
    rationale: str
    optional: bool = False
    weight: float = 1.0
    fallback_for: str | None = None

    def themes_at(self, level: str) -> tuple[str, ...]:
        """The themes this indicator counts in at ``level``."""
        return tuple(t for t in self.themes if level in theme_levels(t))

    @property
    def denominator_noun(self) -> str | None:
        """What the denominator counts, in Dutch (``None`` for register counts and no denominator)."""
        measure = self.denominator
        if measure is None:
            return None
        if measure.kind == "cbs":
            return DENOMINATOR_NOUNS.get(str(measure.params["cbs"]))
        if measure.kind == "establishments":
            spec = measure.params["establishments"] or {}
            return "vestigingen in risicobranches" if spec.get("branches") else "vestigingen"
        if measure.kind == "addresses":
            spec = measure.params["addresses"] or {}
            return "bedrijfspanden" if spec.get("business") else "adressen"
        return None

    @property
    def is_count_based(self) -> bool:
        """Whether the numerator counts businesses or events (then small counts are suppressed)."""
        return self.numerator.kind in {"establishments", "events", "addresses"}


def _check_cbs(params: dict[str, Any], where: str) -> None:
    known = known_variables()
    for key in ("cbs", "percent_of", "mean_of"):
        if key in params and params[key] not in known:
            raise ConfigError(f"{where}: onbekende CBS-variabele {params[key]!r}; bekend: "
                              f"{', '.join(known)}")
    extra = set(params) - {"cbs", "percent_of", "mean_of"}
    if extra or ("percent_of" in params and "mean_of" in params):
        raise ConfigError(f"{where}: een cbs-maat neemt percent_of of mean_of, niet {sorted(extra)}")


def _check_establishments(params: dict[str, Any], where: str) -> None:
    allowed = {"branches", "sbi", "legal_form", "staff", "flow", "shared_address", "groups",
               "other", "shared_same", "changed"}
    spec = params["establishments"] or {}
    unknown = set(spec) - allowed
    if unknown:
        raise ConfigError(f"{where}: onbekend filter op establishments {sorted(unknown)}; "
                          f"toegestaan: {{{', '.join(sorted(allowed))}}}")
    branches = spec.get("branches")
    if branches not in (None, "all"):
        missing = [b for b in branches if b not in risk_branches()]
        if missing:
            raise ConfigError(f"{where}: onbekende risicobranche {missing[0]!r}; branches: "
                              f"{', '.join(risk_branches())}")
    if spec.get("sbi"):
        sbi_prefixes(spec["sbi"], where)
    other = spec.get("other") or {}
    if set(other) - {"branches", "outside"}:
        raise ConfigError(f"{where}: other takes branches and/or outside")
    groups = [*(spec.get("groups") or []), *(other.get("outside") or [])]
    unknown_groups = [g for g in groups if g not in sbi_groups()]
    if unknown_groups:
        raise ConfigError(f"{where}: unknown SBI group {unknown_groups[0]!r}; groups: "
                          f"{', '.join(sbi_groups())}")
    changes = [c for c in spec.get("changed") or [] if c not in CHANGE_KINDS]
    if changes:
        raise ConfigError(f"{where}: changed takes {{{', '.join(CHANGE_KINDS)}}}, got "
                          f"{changes[0]!r}")
    if spec.get("flow") not in (None, *FLOWS):
        raise ConfigError(f"{where}: flow moet een van {{{', '.join(FLOWS)}}} zijn")


def _check_events(params: dict[str, Any], where: str) -> None:
    spec = params["events"] or {}
    kinds = register_kinds()
    kind = spec.get("kind")
    if kind not in kinds:
        raise ConfigError(f"{where}: onbekend soort register {kind!r}; soorten: {', '.join(kinds)}")
    stores = {c.get("store"): c for c in kinds[kind].columns.values() if c.get("store")}
    for key, values in spec.items():
        if key == "kind":
            continue
        column = stores.get(key)
        if column is None:
            raise ConfigError(f"{where}: register {kind} heeft geen {key!r} om op te filteren")
        allowed = [str(v) for v in column.get("values") or []]
        bad = [v for v in values if allowed and str(v) not in allowed]
        if bad:
            raise ConfigError(f"{where}: {kind}.{key} heeft geen waarde {bad[0]!r}; toegestaan: "
                              f"{', '.join(allowed)}")


def _check_addresses(params: dict[str, Any], where: str) -> None:
    unknown = set(params["addresses"] or {}) - {"business", "vacant", "dwelling"}
    if unknown:
        raise ConfigError(f"{where}: onbekend filter op addresses {sorted(unknown)}; "
                          f"toegestaan: business, vacant")


def _check_area(params: dict[str, Any], where: str) -> None:
    if params.get("area") != "ha":
        raise ConfigError(f"{where}: een oppervlaktemaat is 'area: ha'")


MEASURE_CHECKS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "cbs": _check_cbs, "establishments": _check_establishments, "events": _check_events,
    "addresses": _check_addresses, "area": _check_area,
}


def measure_from(spec: Any, where: str) -> Measure:
    """A validated :class:`Measure` from its YAML form."""
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: een maat is een mapping zoals {{cbs: AantalInwoners}}")
    kinds = [k for k in spec if k in MEASURE_CHECKS]
    if len(kinds) != 1:
        raise ConfigError(f"{where}: noem precies één soort maat uit "
                          f"{{{', '.join(MEASURE_CHECKS)}}}, niet {sorted(spec)}")
    MEASURE_CHECKS[kinds[0]](dict(spec), where)
    return Measure(kinds[0], dict(spec))


_ITEM = {"themes": "thema", "levels": "niveau"}


def _list(entry: dict[str, Any], key: str, allowed: tuple[str, ...], where: str) -> tuple[str, ...]:
    values = entry.get(key)
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: {key} moet een niet-lege lijst zijn")
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ConfigError(f"{where}: onbekend {_ITEM[key]} {bad[0]!r}; toegestaan: {', '.join(allowed)}")
    return tuple(values)


def indicator_from(entry: dict[str, Any], source: str) -> Indicator:
    """Validate one catalogue entry."""
    where = f"{source}: indicator {entry.get('id', '?')!r}"
    missing = [k for k in _REQUIRED if k not in entry]
    unknown = sorted(set(entry) - _ALLOWED)
    if missing or unknown:
        what = f"ontbreekt: {', '.join(missing)}" if missing else f"onbekende sleutel {unknown[0]!r}"
        raise ConfigError(f"{where}: {what}")
    if entry["direction"] not in DIRECTIONS:
        raise ConfigError(f"{where}: direction moet higher of lower zijn")
    if entry["source"] not in SOURCES:
        raise ConfigError(f"{where}: onbekende bron {entry['source']!r}; toegestaan: {', '.join(SOURCES)}")
    window = entry.get("window")
    if window is not None and (not isinstance(window, int) or window <= 0 or window % 3):
        raise ConfigError(f"{where}: window moet een positief veelvoud van 3 maanden zijn")
    return Indicator(
        id=str(entry["id"]), label=str(entry["label"]),
        themes=_list(entry, "themes", THEMES, where),
        levels=_list(entry, "levels", INDICATOR_LEVELS, where),
        source=entry["source"],
        numerator=measure_from(entry["numerator"], f"{where} numerator"),
        denominator=measure_from(entry["denominator"], f"{where} denominator")
        if entry.get("denominator") else None,
        scale=float(entry.get("scale", 1)), unit=str(entry.get("unit", "")),
        direction=DIRECTIONS[entry["direction"]], window=window,
        min_denominator=float(entry.get("min_denominator", 0)),
        rationale=str(entry["rationale"]), optional=bool(entry.get("optional", False)),
        weight=float(entry.get("weight", 1.0)),
        fallback_for=str(entry["fallback_for"]) if entry.get("fallback_for") else None,
    )


def check_fallbacks(indicators: list[Indicator], source: str) -> None:
    """A fallback names a primary indicator that is no fallback itself, shares its themes and
    weight, and is defined at no level the primary is not."""
    by_id = {i.id: i for i in indicators}
    for indicator in indicators:
        if indicator.fallback_for is None:
            continue
        where = f"{source}: indicator {indicator.id!r}"
        primary = by_id.get(indicator.fallback_for)
        if primary is None or primary.fallback_for is not None:
            raise ConfigError(f"{where}: fallback_for moet een indicator noemen die zelf geen "
                              f"fallback is; nu {indicator.fallback_for!r}")
        if indicator.themes != primary.themes or indicator.weight != primary.weight:
            raise ConfigError(f"{where}: een fallback heeft de thema's en het gewicht van "
                              f"{primary.id!r} ({', '.join(primary.themes)}; "
                              f"{number(primary.weight, 2)})")
        extra = set(indicator.levels) - set(primary.levels)
        if extra:
            raise ConfigError(f"{where}: niveau {sorted(extra)[0]!r} is geen niveau van "
                              f"{primary.id!r}")


def load_catalogue(path: str | Path | None = None) -> list[Indicator]:
    """Read and validate a catalogue (default: the one shipped with riskmap)."""
    file = Path(path) if path else config_file("indicators.yaml")
    if not file.is_file():
        raise ConfigError(f"{file}: catalogus niet gevonden")
    data = read_yaml(file) or {}
    entries = data.get("indicators") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{file}: verwacht een lijst onder 'indicators'")
    indicators = [indicator_from(entry, str(file)) for entry in entries]
    ids = [i.id for i in indicators]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ConfigError(f"{file}: indicator-id {duplicated[0]!r} komt meer dan eens voor")
    check_fallbacks(indicators, str(file))
    check_area_types()
    return indicators


def check_area_types() -> None:
    """Every theme an analysis-area type lists is a known theme."""
    for area_type in area_types().values():
        bad = [t for t in area_type.themes if t not in THEMES]
        if bad:
            raise ConfigError(f"area_types.yaml: gebiedssoort {area_type.key!r} heeft onbekend "
                              f"thema {bad[0]!r}; thema's: {', '.join(THEMES)}")


def for_level(catalogue: list[Indicator], level: str) -> list[Indicator]:
    """The indicators defined at ``level``."""
    return [i for i in catalogue if level in i.levels]
