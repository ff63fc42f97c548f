"""Business register extract (KvK Handelsregister vestigingen, or a similar register).

Default template columns: ``vestigingsnummer, kvk_nummer, sbi_hoofdactiviteit,
sbi_nevenactiviteiten, datum_aanvang, datum_einde, rechtsvorm, werkzame_personen, postcode,
huisnummer, huisletter, toevoeging, x_rd, y_rd`` (or ``lat, lon``). Names, trade names and street
addresses in the file are never stored; numbers are pseudonymised.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import pandas as pd

from riskmap.config import Config
from riskmap.sbi import normalise_sbi
from riskmap.sources._io import blank, parse_dates, read_table, require_columns
from riskmap.sources._places import numbers, per_value
from riskmap.sources._records import (
    AREA_COLUMNS,
    apply_mapping,
    drop_duplicates,
    finish,
    locate,
    pseudonymiser,
    reject_where,
)
from riskmap.store import LoadRecord, Store

log = logging.getLogger(__name__)

TEMPLATE = ("vestigingsnummer", "kvk_nummer", "sbi_hoofdactiviteit", "sbi_nevenactiviteiten",
            "datum_aanvang", "datum_einde", "rechtsvorm", "werkzame_personen", "postcode",
            "huisnummer", "huisletter", "toevoeging", "x_rd", "y_rd")
REQUIRED = ("vestigingsnummer", "sbi_hoofdactiviteit", "datum_aanvang")
LOCATION = (("x_rd", "y_rd"), ("lat", "lon"), ("postcode", "huisnummer"))


def _sbi_part(part: int, values: pd.Series) -> pd.Series:
    return normalise_sbi(values)[part]


def _other_sbi(values: pd.Series) -> pd.Series:
    return per_value(values, _other_sbi_codes)


def _other_sbi_codes(values: pd.Series) -> pd.Series:
    cleaned = values.astype(str).str.replace(r"[^\d,;/ |]", "", regex=True)
    parts = cleaned.str.split(r"[,;/ |]+", regex=True)
    return parts.apply(lambda codes: ",".join(c for c in codes if c) or None)


def load_kvk(store: Store, config: Config, path: str | Path,
             mapping: str | Path | None = None) -> LoadRecord:
    """Load a business-register extract into ``establishments`` (replaces the previous extract).

    Rows are rejected, and counted by reason, for: a missing vestigingsnummer or start date, an
    SBI code not in SBI 2008, an end date before the start date, duplicates, no location (no
    coordinates and an address not in BAG) and a location outside the gemeente.
    """
    path = Path(path)
    frame = apply_mapping(read_table(path), mapping)
    require_columns(frame, REQUIRED, path, alternatives=LOCATION)
    record = LoadRecord("kvk", "vestigingen", path=path, rows_read=len(frame))
    frame = reject_where(frame, blank(frame["vestigingsnummer"]), "geen vestigingsnummer", record)
    frame = drop_duplicates(frame, "vestigingsnummer", record)
    # SBI codes and dates repeat a lot: each distinct value is parsed once
    codes, valid, repaired = (per_value(frame["sbi_hoofdactiviteit"], partial(_sbi_part, part))
                              for part in range(3))
    frame = frame.assign(sbi=codes)
    frame = reject_where(frame, ~valid, "onbekende SBI-code", record)
    start = per_value(frame["datum_aanvang"], parse_dates)
    end = per_value(frame.get("datum_einde", pd.Series("", index=frame.index)), parse_dates)
    frame = frame.assign(start_date=start, end_date=end)
    frame = reject_where(frame, start.isna(), "ongeldige datum_aanvang", record)
    frame = reject_where(frame, frame["end_date"] < frame["start_date"],
                         "datum_einde voor datum_aanvang", record)
    pseudo = pseudonymiser(store, config)
    areas, inside = locate(store, config, frame, record, pseudo)
    frame, areas = frame.loc[inside], areas.loc[inside]
    rows = pd.DataFrame({
        "id": pseudo.series(frame["vestigingsnummer"], "vestiging"),
        "kvk": pseudo.series(frame.get("kvk_nummer", pd.Series("", index=frame.index)), "kvk"),
        "sbi": frame["sbi"],
        "sbi_other": _other_sbi(frame.get("sbi_nevenactiviteiten",
                                          pd.Series("", index=frame.index))),
        "start_date": frame["start_date"].dt.date,
        "end_date": frame["end_date"].dt.date,
        "legal_form": frame.get("rechtsvorm", pd.Series("", index=frame.index)).str.strip()
        .replace("", None),
        "staff": numbers(frame.get("werkzame_personen", pd.Series("", index=frame.index)))
        .round().astype("Int64"),
    })
    rows = pd.concat([rows, areas[["address", *AREA_COLUMNS]]], axis=1)
    finish(record, len(rows), {"SBI-code aangevuld met voorloopnul": int(repaired.sum())})
    store.write_load(record, {"establishments": rows})
    return record
