"""BAG addresses (verblijfsobjecten): to place records that have an address but no coordinates,
and as denominators (e.g. business premises per bedrijventerrein).

Template columns: ``postcode, huisnummer, huisletter, toevoeging, gebruiksdoel, oppervlakte,
x_rd, y_rd`` (or ``lat, lon``). Addresses are stored as a keyed hash, never as text, with only
what the indicators use: areas, 500 m cell and dwelling or not (see :func:`dwelling_or_other`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskmap.config import Config
from riskmap.sources._io import read_table, require_columns
from riskmap.sources._places import address_keys, per_value
from riskmap.sources._records import (
    AREA_COLUMNS,
    apply_mapping,
    exact_duplicates,
    finish,
    locate,
    pseudonymiser,
    reject_where,
)
from riskmap.store import LoadRecord, Store

REQUIRED = ("postcode", "huisnummer", "gebruiksdoel")
LOCATION = (("x_rd", "y_rd"), ("lat", "lon"))


def dwelling_or_other(uses: pd.Series) -> pd.Series:
    """``woonfunctie`` for a dwelling, else ``overig``: all the indicators need of the
    gebruiksdoel (business premises = not a dwelling). With the exact gebruiksdoel, floor area
    and 100 m cell most addresses were unique against the public BAG, so none is stored."""
    text = uses.astype(str).str.lower().str.replace(r"\s+", "", regex=True)
    return text.where(text == "woonfunctie", "overig")


def load_bag(store: Store, config: Config, path: str | Path,
             mapping: str | Path | None = None) -> LoadRecord:
    """Load BAG addresses into ``addresses`` (replaces the previous BAG load)."""
    path = Path(path)
    frame = apply_mapping(read_table(path), mapping)
    require_columns(frame, REQUIRED, path, alternatives=LOCATION)
    record = LoadRecord("bag", "adressen", path=path, rows_read=len(frame))
    keys = address_keys(frame)
    frame = reject_where(frame.assign(key=keys), keys == "", "ongeldige postcode of huisnummer",
                         record)
    frame = reject_where(frame, exact_duplicates(frame, "key"), "dubbele regel", record)
    frame = reject_where(frame, frame["key"].duplicated(), "dubbel adres", record)
    pseudo = pseudonymiser(store, config)
    # addresses are placed by their own coordinates only: drop the address columns for locate
    areas, inside = locate(store, config, frame.drop(columns=["postcode", "huisnummer"]), record,
                           pseudo)
    frame, areas = frame.loc[inside], areas.loc[inside]
    rows = pd.DataFrame({"id": pseudo.series(frame["key"], "adres"),
                         "use": per_value(frame["gebruiksdoel"], dwelling_or_other)})
    rows = pd.concat([rows, areas[AREA_COLUMNS].assign(cell100=None)], axis=1)
    finish(record, len(rows))
    store.write_load(record, {"addresses": rows})
    return record
