"""The register templates of ``config/registers.yaml``: each kind's columns, allowed values and
their synonyms, and the rules documented with them (read and checked here, without the
loader's libraries: the indicator catalogue checks its measures against them on every load).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from riskmap import _yaml
from riskmap.errors import ConfigError
from riskmap.sbi import config_file

EVENT_COLUMNS = ("category", "branch", "outcome", "source", "object", "amount")


@dataclass(frozen=True)
class RegisterKind:
    """The template of one register kind."""

    kind: str
    label: str
    doc: str
    id_column: str
    date_column: str
    columns: dict[str, dict[str, Any]]

    @property
    def required(self) -> list[str]:
        """Columns a file must have."""
        return [name for name, spec in self.columns.items() if spec.get("required")]


@cache
def register_kinds() -> dict[str, RegisterKind]:
    """All register templates from ``registers.yaml``."""
    path = config_file("registers.yaml")
    data = _yaml.safe_load(path.read_text(encoding="utf-8"))
    kinds = {}
    for kind, spec in data["kinds"].items():
        for column, colspec in spec["columns"].items():
            store = colspec.get("store")
            if store and store not in EVENT_COLUMNS:
                raise ConfigError(f"{path}: {kind}.{column} schrijft naar onbekende kolom {store!r}")
            value_lookup(colspec, f"{path}: {kind}.{column}")
        kinds[kind] = RegisterKind(kind, spec["label"], spec["doc"], spec["id"], spec["date"],
                                   spec["columns"])
    return kinds


def plausibility_rules() -> dict[str, str]:
    """The documented plausibility rules (Dutch; ``{option}`` names a riskmap.yaml option)."""
    data = _yaml.safe_load(config_file("registers.yaml").read_text(encoding="utf-8"))
    return dict(data["plausibility"])


def squash(text: str) -> str:
    """A spelling as a key: lower case, no accents, no spaces, hyphens or other separators
    (``"Adres-fraude "`` and ``"adresfraude"`` both give ``"adresfraude"``)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def value_lookup(spec: dict[str, Any], where: str) -> dict[str, str]:
    """Squashed spelling -> allowed value, for the allowed values and their synonyms."""
    allowed = [str(v) for v in spec.get("values") or []]
    lookup = {squash(v): v for v in allowed}
    for synonym, value in (spec.get("synonyms") or {}).items():
        key, target = squash(str(synonym)), str(value)
        if target not in allowed or lookup.get(key, target) != target:
            raise ConfigError(f"{where}: synoniem {synonym!r} -> {value!r} is geen van de "
                              f"waarden of botst met een andere schrijfwijze")
        lookup[key] = target
    return lookup


def location_columns() -> dict[str, dict[str, str]]:
    """The documented location columns shared by every register template."""
    data = _yaml.safe_load(config_file("registers.yaml").read_text(encoding="utf-8"))
    return dict(data["location_columns"])
