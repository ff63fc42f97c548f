"""Municipal registers exported from case systems: meldingen, maatregelen, bibob, hennep,
controles. Column templates live in ``config/registers.yaml`` (documented in docs/registers.md).

A load replaces the events of that kind within the file's date range, so both full exports and
quarterly increments can be loaded repeatedly.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmap.config import Config
from riskmap.errors import InputError
from riskmap.sources._io import (
    arrow_dates,
    blank,
    parse_dates,
    parse_numbers,
    require_columns,
)
from riskmap.sources._places import per_value
from riskmap.sources._records import (
    PLACE_COLUMNS,
    date_window,
    drop_duplicates,
    event_location,
    finish,
    locate,
    pseudonymiser,
    read_mapped,
    reject_implausible_dates,
    reject_out_of_range,
    reject_where,
)
from riskmap.sources.register_kinds import (
    EVENT_COLUMNS,
    register_kinds,
    squash,
    value_lookup,
)
from riskmap.store import LoadRecord, Store

log = logging.getLogger(__name__)

LOCATION = (("x_rd", "y_rd"), ("lat", "lon"), ("postcode", "huisnummer"))
def _normalise_values(values: pd.Series, spec: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """Values in canonical form and a mask of cells that are not allowed.

    Where the column lists its values, a cell matches a value or synonym whatever its case,
    accents, spaces, hyphens or underscores; other columns are kept as lower-case words
    joined by ``_``.
    """
    empty = blank(values)
    if not spec.get("values"):
        text = values.astype(str).str.strip().str.lower().str.replace(r"[\s\-/]+", "_",
                                                                       regex=True)
        return text.where(~empty, None), pd.Series(False, index=values.index)
    lookup = value_lookup(spec, "registers.yaml")
    canonical = per_value(values.astype(str), lambda v: v.map(squash).map(lookup))
    return canonical.where(~empty, None), ~empty & canonical.isna()


def _unknown_values(column: str, values: pd.Series, path: Path) -> None:
    """Log the unknown values of a column by how often they occur (the ten most frequent)."""
    counts = values.astype(str).str.strip().value_counts()
    shown = ", ".join(f"{v!r} ({n}x)" for v, n in counts.head(10).items())
    more = f" en {len(counts) - 10} andere" if len(counts) > 10 else ""
    log.warning("%s: onbekende %s: %s%s; zie docs/registers.md voor de toegestane waarden en "
                "schrijfwijzen", path.name, column, shown, more)


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
        raise InputError(f"onbekend soort register {kind!r}; kies uit {', '.join(kinds)}")
    spec = kinds[kind]
    path = Path(path)
    used = {*spec.columns, spec.id_column, spec.date_column, *PLACE_COLUMNS}
    frame = read_mapped(path, mapping, used.__contains__)
    require_columns(frame, spec.required, path, alternatives=LOCATION)
    record = LoadRecord(f"register:{kind}", "", path=path, rows_read=len(frame))
    frame = reject_where(frame, blank(frame[spec.id_column]), f"geen {spec.id_column}", record)
    frame = drop_duplicates(frame, spec.id_column, record)
    dates = per_value(frame[spec.date_column], parse_dates)  # dates repeat: parse each once
    frame = reject_where(frame.assign(_date=dates), dates.isna(), f"ongeldige {spec.date_column}",
                         record)
    # the date range this load replaces comes from plausible dates only
    frame = reject_implausible_dates(frame, spec.date_column, frame["_date"],
                                     date_window(config, "plausibility.first_event_date"), record)
    rows = pd.DataFrame(index=frame.index, columns=list(EVENT_COLUMNS), dtype=object)
    for column, colspec in spec.columns.items():
        target = colspec.get("store")
        if not target or column not in frame.columns:
            continue
        if colspec.get("type") == "number":
            values = parse_numbers(frame[column])
            low, high = colspec.get("range", (-np.inf, np.inf))
            frame = reject_out_of_range(frame, column, values, low, high, record)
            rows = rows.loc[frame.index]
            rows[target] = values.loc[frame.index]
            continue
        values, bad = _normalise_values(frame[column], colspec)
        missing = blank(frame[column]) & bool(colspec.get("required"))
        if bad.any():
            _unknown_values(column, frame.loc[bad, column], path)
        record.reject(f"onbekende {column}", int(bad.sum()))
        record.reject(f"lege {column}", int(missing.sum()))
        drop = (bad | missing).to_numpy()
        frame, rows = frame.loc[~drop], rows.loc[~drop]
        rows[target] = values.loc[~drop]
    pseudo = pseudonymiser(store, config)
    areas, inside = locate(store, config, frame, record, pseudo)
    rows = pd.concat([rows, event_location(areas, kind)], axis=1).loc[inside]
    frame = frame.loc[inside]
    rows.insert(0, "date", arrow_dates(frame["_date"]))
    rows.insert(0, "id", pseudo.series(frame[spec.id_column], f"zaak:{kind}"))
    rows.insert(0, "kind", kind)
    rows["amount"] = pd.to_numeric(rows["amount"], errors="coerce")
    if rows.empty:
        raise InputError(f"{path}: geen bruikbare rijen ({record.summary()})")
    first, last = rows["date"].min(), rows["date"].max()
    record.slice, record.period_first, record.period_last = f"{first}..{last}", first, last
    finish(record, len(rows))
    store.write_load(record, {"events": rows}, delete={
        "events": ("kind = ? AND date BETWEEN ? AND ?", [kind, first, last])})
    return record
