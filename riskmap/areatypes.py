"""Analysis-area types: own polygon layers analysed at their own level (``config/area_types.yaml``).

Buurt and wijk come from CBS; every other level is an *analysis-area type* (bedrijventerreinen,
vakantieparken, ...), defined in configuration with its Dutch names, its code prefix, its default
id and name fields and the themes it is scored on. Loading, point assignment, indicator levels,
the protected release and the outputs iterate over these types, so a further type (e.g.
winkelgebieden) is a block of configuration, not code.

Store representation
--------------------
Establishments, addresses and events carry one column ``analysis_areas`` (``VARCHAR[]``): the
codes of the analysis areas the point lies in, at most one per type (the first polygon hit, as
for buurten), in the order of the types in the configuration. Types may overlap (a woonboulevard
on a bedrijventerrein is also a winkelgebied), so a single code column would not do, and a list
needs no new column per type. A type's code is found in the list by its prefix
(:func:`area_sql`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskmap import _yaml
from riskmap._config_files import config_file
from riskmap.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

CBS_LEVELS = ("buurt", "wijk")
AREA_COLUMN = "analysis_areas"
_RESERVED_PREFIXES = ("BU", "WK", "GM", "NL")


@dataclass(frozen=True)
class AreaType:
    """One analysis-area type (see ``config/area_types.yaml``)."""

    key: str
    label: str
    plural: str
    prefix: str
    source: str
    id_field: str
    name_field: str
    themes: tuple[str, ...]
    area_field: str | None = None
    attributes: tuple[str, ...] = ()
    note: str = ""


def _text(spec: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = spec.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' ontbreekt of is geen tekst")
    return value.strip()


def _area_type(key: str, spec: Mapping[str, Any], file: Path) -> AreaType:
    where = f"{file}: gebiedssoort {key!r}"
    if not re.fullmatch(r"[a-z][a-z_]*", key) or key in (*CBS_LEVELS, "gemeente"):
        raise ConfigError(f"{where}: de sleutel moet uit kleine letters bestaan en mag geen "
                          f"buurt, wijk of gemeente zijn")
    prefix = _text(spec, "prefix", where)
    if not re.fullmatch(r"[A-Z]{2}", prefix) or prefix in _RESERVED_PREFIXES:
        raise ConfigError(f"{where}: prefix moet twee hoofdletters zijn, niet "
                          f"{'/'.join(_RESERVED_PREFIXES)} (kreeg {prefix!r})")
    themes = spec.get("themas")
    if not isinstance(themes, list) or not themes:
        raise ConfigError(f"{where}: 'themas' moet een niet-lege lijst zijn")
    attributes = spec.get("attributen") or []
    return AreaType(key, _text(spec, "label", where), _text(spec, "meervoud", where), prefix,
                    _text(spec, "bron", where), _text(spec, "id_veld", where).lower(),
                    _text(spec, "naam_veld", where).lower(), tuple(str(t) for t in themes),
                    str(spec["oppervlakte_veld"]).lower() if spec.get("oppervlakte_veld") else None,
                    tuple(str(a).lower() for a in attributes), str(spec.get("toelichting", "")))


@cache
def area_types(path: str | None = None) -> dict[str, AreaType]:
    """The analysis-area types by level key, in configuration order, checked."""
    file = Path(path) if path else config_file("area_types.yaml")
    data = _yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    specs = data.get("area_types") if isinstance(data, dict) else None
    if not isinstance(specs, dict):
        raise ConfigError(f"{file}: verwacht een lijst van gebiedssoorten onder 'area_types'")
    types = {str(k): _area_type(str(k), spec or {}, file) for k, spec in specs.items()}
    for attribute in ("prefix", "source"):
        values = [getattr(t, attribute) for t in types.values()]
        double = sorted({v for v in values if values.count(v) > 1})
        if double:
            raise ConfigError(f"{file}: {attribute} {double[0]!r} komt bij meer dan één "
                              f"gebiedssoort voor")
    return types


def analysis_levels() -> tuple[str, ...]:
    """The level keys of the analysis-area types, in configuration order."""
    return tuple(area_types())


def scored_levels() -> tuple[str, ...]:
    """Every level that gets indicator values and scores: buurt, wijk and each area type."""
    return (*CBS_LEVELS, *analysis_levels())


def by_source(source: str) -> AreaType:
    """The area type loaded by the command (lineage source) ``source``."""
    for area_type in area_types().values():
        if area_type.source == source:
            return area_type
    raise ConfigError(f"geen gebiedssoort met bron {source!r}; bronnen: "
                      f"{', '.join(t.source for t in area_types().values())}")


def level_label(level: str, plural: bool = False) -> str:
    """The Dutch name of a level (``Buurt``, ``Bedrijventerreinen``, ...)."""
    cbs = {"buurt": ("Buurt", "Buurten"), "wijk": ("Wijk", "Wijken"),
           "gemeente": ("Gemeente", "Gemeenten")}
    if level in cbs:
        return cbs[level][int(plural)]
    area_type = area_types().get(level)
    if area_type is None:
        return level
    return area_type.plural if plural else area_type.label


def area_sql(level: str, column: str = AREA_COLUMN) -> str:
    """SQL for the code of ``level`` of a point row: the column for buurt and wijk, else the
    code in ``analysis_areas`` with the type's prefix (NULL when the point is in none)."""
    if level in CBS_LEVELS:
        return level
    prefix = area_types()[level].prefix
    return f"list_filter({column}, lambda a: starts_with(a, '{prefix}'))[1]"


def level_of_code(code: str) -> str | None:
    """The analysis-area type of a code, by its prefix (``None`` for CBS codes)."""
    for area_type in area_types().values():
        if str(code).startswith(area_type.prefix):
            return area_type.key
    return None


def area_lists(codes: Mapping[str, Sequence[object]], n: int) -> np.ndarray:
    """Per point, the list of its analysis-area codes (``None`` where it is in none), from one
    code array per type (``None`` entries where not in an area of that type), in type order;
    as an object array (a list of ten million made pandas look at every entry)."""
    # numpy and pandas here, not at import: the command line reads the area types for its help
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    order = [k for k in area_types() if k in codes] + [k for k in codes if k not in area_types()]
    columns = [np.asarray(codes[k], dtype=object) for k in order]
    out = np.full(n, None, dtype=object)
    if not columns:
        return out
    inside = np.zeros(n, dtype=bool)
    for column in columns:
        inside |= pd.notna(column)
    for i in np.flatnonzero(inside):  # few points lie in analysis areas
        out[i] = [str(c[i]) for c in columns if pd.notna(c[i])]
    return out

