"""CBS statistics through ``cbsodata``: Kerncijfers wijken en buurten, and police crime per buurt.

Columns carry a year-specific ``_N`` suffix (``AantalInwoners_5``); they are resolved by key stem
or title from the table's DataProperties and stored under the stem. CBS's missing and secret
cells (null, ``'.'``) stay missing, never 0. Raw responses are cached in the project so that a
build can be repeated offline.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import cbsodata
import pandas as pd
import yaml

from riskmap.config import Config
from riskmap.errors import InputError
from riskmap.sources._cache import cached_fetch
from riskmap.store import LoadRecord, Store

log = logging.getLogger(__name__)

KERNCIJFERS = {2019: "84583NED", 2020: "84799NED", 2021: "85039NED", 2022: "85318NED",
               2023: "85618NED", 2024: "85984NED"}
POLICE_TABLE = "47018NED"
POLICE_CATALOG = "dataderden.cbs.nl"
OPEN_CATALOG = "opendata.cbs.nl"
NATIONAL = "NL01"

Fetcher = Callable[[str, str, str], dict[str, list[dict[str, Any]]]]


@cache
def known_variables() -> dict[str, dict[str, Any]]:
    """The CBS variables riskmap knows by name (``data/cbs_variables.yaml``)."""
    text = resources.files("riskmap").joinpath("data/cbs_variables.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip().lower()


def key_stem(key: str) -> str:
    """A CBS column key without its ``_N`` suffix: ``AantalInwoners_5`` -> ``AantalInwoners``."""
    return re.sub(r"_\d+$", "", key)


def resolve_columns(properties: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Map each Topic key of a table to its variable name (canonical name, or the stem).

    A key is matched to a known variable by its stem, then by its title; other keys keep their
    stem. Stems that occur twice (e.g. ``Nederland`` under two topic groups) get the title of
    their group appended, so every name is unique.
    """
    known = known_variables()
    by_stem = {s: name for name, v in known.items() for s in [name, *v.get("stems", [])]}
    by_title = {_squash(t): name for name, v in known.items() for t in v.get("titles", [])}
    groups = {p.get("ID"): p.get("Title") for p in properties if p.get("Type") == "TopicGroup"}
    mapping: dict[str, str] = {}
    for prop in properties:
        if prop.get("Type") != "Topic":
            continue
        stem = key_stem(prop["Key"])
        name = by_stem.get(stem) or by_title.get(_squash(prop.get("Title", ""))) or stem
        if name in mapping.values():
            group = re.sub(r"\W+", "_", str(groups.get(prop.get("ParentID"), ""))).strip("_")
            name = f"{name}__{group}" if group else f"{name}__{prop['Key']}"
        mapping[prop["Key"]] = name
    return mapping


def region_filter(gemeente: str) -> str:
    """OData filter for a gemeente's own rows (GM, WK, BU) and the national row."""
    number = gemeente[2:]
    parts = [f"startswith(WijkenEnBuurten,'{p}{number}')" for p in ("GM", "WK", "BU")]
    return " or ".join([*parts, f"startswith(WijkenEnBuurten,'{NATIONAL}')"])


def fetch_with_cbsodata(table_id: str, filters: str, catalog: str) -> dict[str, Any]:
    """Download a table's data and metadata through ``cbsodata.download_data``.

    ``typed=False`` because cbsodata (<= 1.3.5) swaps the flag and returns the typed data set
    for it; the parser accepts either data set.
    """
    return dict(cbsodata.download_data(table_id, typed=False, filters=filters,
                                       catalog_url=catalog))


def _number(value: Any) -> tuple[float | None, str]:
    if value is None:
        return None, "ontbreekt"
    if isinstance(value, int | float):
        return float(value), "ok"
    text = str(value).strip()
    if text in {".", "x", "-"}:
        return None, "geheim" if text == "." else "ontbreekt"
    try:
        return float(text.replace(",", ".")), "ok"
    except ValueError:
        return None, "ongeldig"


def _dataset(raw: Mapping[str, Any], table_id: str) -> list[dict[str, Any]]:
    for name in ("TypedDataSet", "UntypedDataSet"):
        if name in raw:
            return list(raw[name])
    raise InputError(f"CBS table {table_id}: response has no TypedDataSet or UntypedDataSet")


def long_values(raw: Mapping[str, Any], table_id: str, year: int,
                codes: Callable[[str], bool]) -> pd.DataFrame:
    """Kerncijfers rows in long form: area_code, year, variable, value, status."""
    properties = raw.get("DataProperties")
    if not properties:
        raise InputError(f"CBS table {table_id}: response has no DataProperties")
    mapping = resolve_columns(properties)
    code_key = next((k for k in mapping if key_stem(k) == "Codering"), None)
    skip = {"Gemeentenaam", "SoortRegio", "Codering", "IndelingswijzigingGemeenteWijkBuurt",
            "MeestVoorkomendePostcode", "Dekkingspercentage"}
    rows = []
    for record in _dataset(raw, table_id):
        code = str(record.get(code_key or "Codering") or record.get("WijkenEnBuurten") or "")
        code = code.strip().upper()
        if not codes(code):
            continue
        for key, name in mapping.items():
            if key_stem(key) in skip or key not in record:
                continue
            value, status = _number(record[key])
            rows.append((code, year, name, value, status))
    return pd.DataFrame(rows, columns=["area_code", "year", "variable", "value", "status"])


def load_cbs(store: Store, config: Config, year: int, offline: bool = False,
             fetch: Fetcher = fetch_with_cbsodata) -> LoadRecord:
    """Load CBS Kerncijfers wijken en buurten of ``year`` for the project's gemeente.

    Parameters
    ----------
    year
        Statistics year, 2019..2024 (tables in :data:`KERNCIJFERS`).
    offline
        Read the cached response only; fail clearly when there is none.
    fetch
        The download function (table id, OData filter, catalogue) → cbsodata's dict.
    """
    if year not in KERNCIJFERS:
        raise InputError(f"CBS year {year} not supported; choose one of "
                         f"{', '.join(map(str, KERNCIJFERS))}")
    table_id = KERNCIJFERS[year]
    filters = region_filter(config.gemeente)
    request = {"catalog": OPEN_CATALOG, "table": table_id, "filter": filters}
    raw, cached = cached_fetch(cache_folder(config), table_id, request,
                               lambda: fetch(table_id, filters, OPEN_CATALOG), offline)
    own = _own_codes(config.gemeente)
    values = long_values(raw, table_id, year, lambda c: own(c) or c == NATIONAL)
    if values.empty:
        raise InputError(f"CBS table {table_id}: no rows for {config.gemeente} in the response")
    record = LoadRecord("cbs", f"{table_id}:{year}", api_table=f"{OPEN_CATALOG}/{table_id}",
                        path=cached, rows_read=len(_dataset(raw, table_id)),
                        rows_kept=values["area_code"].nunique(), period_first=f"{year}-01-01",
                        period_last=f"{year}-12-31")
    store.write_load(record, {"cbs_values": values.assign(table_id=table_id)})
    secret = int((values["status"] == "geheim").sum())
    log.debug("loaded CBS %s (%d): %s areas, %s values (%s secret or missing kept as missing)",
             table_id, year, f"{record.rows_kept:,}", f"{len(values):,}",
             f"{secret + int((values['status'] == 'ontbreekt').sum()):,}")
    return record


def _own_codes(gemeente: str) -> Callable[[str], bool]:
    pattern = re.compile(rf"^(GM{gemeente[2:]}|WK{gemeente[2:]}\d{{2}}|BU{gemeente[2:]}\d{{4}})$")
    return lambda code: bool(pattern.match(code))


_DRUGS = re.compile(r"drugs(handel|smokkel)|opium", re.IGNORECASE)
_TOTAL = re.compile(r"totaal", re.IGNORECASE)


def police_values(raw: Mapping[str, Any], codes: Callable[[str], bool]) -> pd.DataFrame:
    """Registered crime (47018NED) per area and year: total and drug offences (Opiumwet)."""
    kinds = {str(r["Key"]).strip(): str(r.get("Title", "")) for r in raw.get("SoortMisdrijf", [])}
    measure = next((k for k in mapping_keys(raw) if key_stem(k) == "GeregistreerdeMisdrijven"),
                   None)
    if measure is None:
        raise InputError(f"CBS table {POLICE_TABLE}: no GeregistreerdeMisdrijven column")
    rows, skipped = [], Counter[str]()
    for record in _dataset(raw, POLICE_TABLE):
        code = str(record.get("WijkenEnBuurten", "")).strip().upper()
        title = kinds.get(str(record.get("SoortMisdrijf", "")).strip(), "")
        group = "misdrijven_totaal" if _TOTAL.search(title) else \
            "misdrijven_drugs" if _DRUGS.search(title) else None
        period = str(record.get("Perioden", ""))
        why = ("andere soort misdrijf" if group is None else "ander gebied" if not codes(code)
               else "geen jaar in Perioden" if not period[:4].isdigit() else None)
        if why:
            skipped[why] += 1
            continue
        value, status = _number(record.get(measure))
        rows.append((code, int(period[:4]), group, value, status))
    frame = pd.DataFrame(rows, columns=["area_code", "year", "variable", "value", "status"])
    # drug trafficking and smuggling add up to one value per area and year: rows are used,
    # not lost, so the load counts them as kept and names what was left out
    frame = frame.groupby(["area_code", "year", "variable"], as_index=False).agg(
        value=("value", lambda v: v.sum(min_count=1)), status=("status", "min"))
    frame.attrs.update(rows_used=len(rows), skipped=dict(skipped))
    return frame


def mapping_keys(raw: Mapping[str, Any]) -> list[str]:
    """Topic keys of a table's DataProperties."""
    return [p["Key"] for p in raw.get("DataProperties", []) if p.get("Type") == "Topic"]


def load_police(store: Store, config: Config, offline: bool = False,
                fetch: Fetcher = fetch_with_cbsodata) -> LoadRecord:
    """Load registered crime per wijk and buurt (police, CBS dataderden table 47018NED)."""
    filters = region_filter(config.gemeente)
    request = {"catalog": POLICE_CATALOG, "table": POLICE_TABLE, "filter": filters}
    raw, cached = cached_fetch(cache_folder(config), POLICE_TABLE, request,
                               lambda: fetch(POLICE_TABLE, filters, POLICE_CATALOG), offline)
    values = police_values(raw, _own_codes(config.gemeente))
    if values.empty:
        raise InputError(f"CBS table {POLICE_TABLE}: no rows for {config.gemeente} in the response")
    years = sorted(values["year"].unique())
    record = LoadRecord("police", POLICE_TABLE, api_table=f"{POLICE_CATALOG}/{POLICE_TABLE}",
                        path=cached, rows_read=len(_dataset(raw, POLICE_TABLE)),
                        rows_kept=values.attrs["rows_used"], period_first=f"{years[0]}-01-01",
                        period_last=f"{years[-1]}-12-31")
    for why, count in values.attrs["skipped"].items():
        record.reject(why, count)
    store.write_load(record, {"cbs_values": values.assign(table_id=POLICE_TABLE)})
    return record


def cache_folder(config: Config) -> Path:
    """Where CBS responses of a project are cached."""
    return config.path("paths.cache") / "cbs"
