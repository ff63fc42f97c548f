"""Municipal registers exported from case systems: meldingen, maatregelen, bibob, hennep,
controles. Column templates live in ``config/registers.yaml`` (documented in docs/registers.md).

A load replaces the events of that kind within the file's date range, so both full exports and
quarterly increments can be loaded repeatedly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from riskmap.config import Config
from riskmap.errors import ConfigError, InputError
from riskmap.sbi import config_file
from riskmap.sources._io import blank, parse_dates, parse_numbers, read_table, require_columns
from riskmap.sources._places import per_value
from riskmap.sources._records import (
    apply_mapping,
    drop_duplicates,
    event_location,
    finish,
    locate,
    pseudonymiser,
    reject_where,
)
from riskmap.store import LoadRecord, Store

LOCATION = (("x_rd", "y_rd"), ("lat", "lon"), ("postcode", "huisnummer"))
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
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    kinds = {}
    for kind, spec in data["kinds"].items():
        for column, colspec in spec["columns"].items():
            store = colspec.get("store")
            if store and store not in EVENT_COLUMNS:
                raise ConfigError(f"{path}: {kind}.{column} stores into unknown column {store!r}")
        kinds[kind] = RegisterKind(kind, spec["label"], spec["doc"], spec["id"], spec["date"],
                                   spec["columns"])
    return kinds


def location_columns() -> dict[str, dict[str, str]]:
    """The documented location columns shared by every register template."""
    data = yaml.safe_load(config_file("registers.yaml").read_text(encoding="utf-8"))
    return dict(data["location_columns"])


def _normalise_values(values: pd.Series, spec: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """Values in canonical form and a mask of cells that are not allowed."""
    text = values.astype(str).str.strip().str.lower().str.replace(r"[\s\-/]+", "_", regex=True)
    synonyms = {str(k).lower(): str(v) for k, v in (spec.get("synonyms") or {}).items()}
    text = text.replace(synonyms)
    allowed = {str(v) for v in spec.get("values") or []}
    empty = blank(values)
    bad = ~empty & ~text.isin(allowed) if allowed else pd.Series(False, index=values.index)
    return text.where(~empty, None), bad


def load_register(store: Store, config: Config, kind: str, path: str | Path,
                  mapping: str | Path | None = None) -> LoadRecord:
    """Load one register export into ``events``.

    Parameters
    ----------
    kind
        One of the kinds in ``config/registers.yaml``:
        {"meldingen", "maatregelen", "bibob", "hennep", "controles"}.
    """
    kinds = register_kinds()
    if kind not in kinds:
        raise InputError(f"unknown register kind {kind!r}; choose one of {', '.join(kinds)}")
    spec = kinds[kind]
    path = Path(path)
    frame = apply_mapping(read_table(path), mapping)
    require_columns(frame, spec.required, path, alternatives=LOCATION)
    record = LoadRecord(f"register:{kind}", "", path=path, rows_read=len(frame))
    frame = reject_where(frame, blank(frame[spec.id_column]), f"geen {spec.id_column}", record)
    frame = drop_duplicates(frame, spec.id_column, record)
    dates = per_value(frame[spec.date_column], parse_dates)  # dates repeat: parse each once
    frame = reject_where(frame.assign(_date=dates), dates.isna(), f"ongeldige {spec.date_column}",
                         record)
    rows = pd.DataFrame(index=frame.index, columns=list(EVENT_COLUMNS), dtype=object)
    for column, colspec in spec.columns.items():
        target = colspec.get("store")
        if not target or column not in frame.columns:
            continue
        if colspec.get("type") == "number":
            rows[target] = parse_numbers(frame[column])
            continue
        values, bad = _normalise_values(frame[column], colspec)
        missing = blank(frame[column]) & bool(colspec.get("required"))
        drop = (bad | missing).to_numpy()
        reason = f"ongeldige of lege {column}"
        frame, rows = reject_where(frame, drop, reason, record), rows.loc[~drop]
        rows[target] = values.loc[~drop]
    pseudo = pseudonymiser(store, config)
    areas, inside = locate(store, config, frame, record, pseudo)
    rows = pd.concat([rows, event_location(areas, kind)], axis=1).loc[inside]
    frame = frame.loc[inside]
    rows.insert(0, "date", frame["_date"].dt.date)
    rows.insert(0, "id", pseudo.series(frame[spec.id_column], f"zaak:{kind}"))
    rows.insert(0, "kind", kind)
    rows["amount"] = pd.to_numeric(rows["amount"], errors="coerce")
    if rows.empty:
        raise InputError(f"{path}: no usable rows ({record.summary()})")
    first, last = rows["date"].min(), rows["date"].max()
    record.slice, record.period_first, record.period_last = f"{first}..{last}", first, last
    finish(record, len(rows))
    store.write_load(record, {"events": rows}, delete={
        "events": ("kind = ? AND date BETWEEN ? AND ?", [kind, first, last])})
    return record
