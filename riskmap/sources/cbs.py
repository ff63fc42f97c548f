"""CBS statistics through ``cbsodata``: Kerncijfers wijken en buurten, and police crime per buurt.

Columns carry a year-specific ``_N`` suffix (``AantalInwoners_5``); they are resolved by key stem
or title from the table's DataProperties and stored under the stem. CBS's missing and secret
cells stay missing, never 0, with a status that keeps them apart where CBS says which
(:mod:`riskmap.sources._cbs_cells`); a known variable that a year's table does not have is
recorded as ``niet in tabel``. Tables key the Netherlands as ``NL00``. Raw responses are cached
in the project so that a build can be repeated offline.
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

import pandas as pd

from riskmap import _yaml
from riskmap.config import Config
from riskmap.errors import InputError
from riskmap.sources import _cbs_cells as cells
from riskmap.sources._cache import cached_fetch
from riskmap.store import LoadRecord, Store

log = logging.getLogger(__name__)

KERNCIJFERS = {2019: "84583NED", 2020: "84799NED", 2021: "85039NED", 2022: "85318NED",
               2023: "85618NED", 2024: "85984NED"}
POLICE_TABLE = "47018NED"
POLICE_CATALOG = "dataderden.cbs.nl"
OPEN_CATALOG = "opendata.cbs.nl"
NATIONAL = "NL00"  # Nederland in Kerncijfers wijken en buurten and in the police's buurt tables
GEMEENTE_CODE = re.compile(r"^GM\d{4}$")

Fetcher = Callable[[str, str, str], dict[str, list[dict[str, Any]]]]


@cache
def known_variables() -> dict[str, dict[str, Any]]:
    """The CBS variables riskmap knows by name (``data/cbs_variables.yaml``)."""
    text = resources.files("riskmap").joinpath("data/cbs_variables.yaml").read_text("utf-8")
    return dict(_yaml.safe_load(text))


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


def kerncijfers_filter(gemeente: str) -> str:
    """OData filter for Kerncijfers: the gemeente's own rows, the national row and every other
    gemeente's row (to compare the gemeente with similar gemeenten)."""
    return f"{region_filter(gemeente)} or startswith(WijkenEnBuurten,'GM')"


def region_names(raw: Mapping[str, Any], codes: Callable[[str], bool]) -> pd.DataFrame:
    """Names of the regions of a Kerncijfers response (``code, name``), from its
    ``WijkenEnBuurten`` dimension (``Key``, ``Title``) as cbsodata returns it."""
    rows = {str(d.get("Key", "")).strip().upper(): str(d.get("Title") or "").strip()
            for d in raw.get("WijkenEnBuurten") or []}
    frame = pd.DataFrame(list(rows.items()), columns=["code", "name"])
    return frame[frame["code"].map(codes) & (frame["name"] != "")].reset_index(drop=True)


def fetch_with_cbsodata(table_id: str, filters: str, catalog: str) -> dict[str, Any]:
    """Download a table's UntypedDataSet and metadata through ``cbsodata.download_data``.

    The untyped data set keeps CBS's symbols (``.``, ``x``, ``-``), which the typed one turns
    into null. cbsodata 1.3.x removes the data set its ``typed`` flag names from its download
    list and so downloads the other one: ``typed=True`` gives the UntypedDataSet. Should a fixed
    cbsodata return the typed set for that flag, the untyped one is asked for again.
    """
    import cbsodata  # noqa: PLC0415 - the network client only when it is used

    raw = dict(cbsodata.download_data(table_id, typed=True, filters=filters, catalog_url=catalog))
    if "UntypedDataSet" not in raw:
        raw = dict(cbsodata.download_data(table_id, typed=False, filters=filters,
                                          catalog_url=catalog))
    return raw


def _dataset(raw: Mapping[str, Any], table_id: str) -> list[dict[str, Any]]:
    for name in ("UntypedDataSet", "TypedDataSet"):
        if name in raw:
            return list(raw[name])
    raise InputError(f"CBS-tabel {table_id}: het antwoord heeft geen TypedDataSet of UntypedDataSet")


_NOT_NUMBERS = {"Gemeentenaam", "SoortRegio", "Codering", "IndelingswijzigingGemeenteWijkBuurt",
                "MeestVoorkomendePostcode", "Dekkingspercentage"}
COLUMNS = ["area_code", "year", "variable", "value", "status"]


def long_values(raw: Mapping[str, Any], table_id: str, year: int,
                codes: Callable[[str], bool]) -> pd.DataFrame:
    """Kerncijfers rows in long form: area_code, year, variable, value, status.

    A gap is ``geheim`` where the cell says so or the variable's description states a threshold
    the region is below, else ``ontbreekt`` (see :mod:`riskmap.sources._cbs_cells`).
    """
    properties = raw.get("DataProperties")
    if not properties:
        raise InputError(f"CBS-tabel {table_id}: het antwoord heeft geen DataProperties")
    columns = resolve_columns(properties)
    mapping = {k: v for k, v in columns.items() if key_stem(k) not in _NOT_NUMBERS}
    rules = cells.suppression_rules(properties)
    stem_keys = {key_stem(k): k for k in mapping}
    code_key = next((k for k in columns if key_stem(k) == "Codering"), None)
    rows = []
    for record in _dataset(raw, table_id):
        code = str(record.get(code_key or "Codering") or record.get("WijkenEnBuurten") or "")
        code = code.strip().upper()
        if not codes(code):
            continue
        parsed = {key: cells.parse_cell(record[key]) for key in mapping if key in record}
        for key, (value, status) in parsed.items():
            base, threshold = rules.get(key, ("", 0.0))
            base_value = parsed.get(stem_keys.get(base, ""), (None, ""))[0]
            rows.append((code, year, mapping[key], value,
                         cells.refine(status, base_value, threshold)))
    return pd.DataFrame(rows, columns=COLUMNS)


def absent_variables(raw: Mapping[str, Any], code: str, year: int) -> pd.DataFrame:
    """Rows with status ``niet in tabel`` for the known Kerncijfers variables a table lacks."""
    present = set(resolve_columns(raw.get("DataProperties") or []).values())
    missing = [name for name, spec in known_variables().items()
               if spec.get("source", "kerncijfers") == "kerncijfers" and name not in present]
    return pd.DataFrame([(code, year, name, None, cells.ABSENT) for name in missing],
                        columns=COLUMNS)


def _warn_without_national(values: pd.DataFrame, table_id: str) -> None:
    if not (values["area_code"] == NATIONAL).any():
        log.warning("CBS-tabel %s: geen landelijke rij %s in het antwoord; de index "
                    "Nederland = 100 blijft leeg", table_id, NATIONAL)


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
        raise InputError(f"CBS-jaar {year} wordt niet ondersteund; kies uit "
                         f"{', '.join(map(str, KERNCIJFERS))}")
    table_id = KERNCIJFERS[year]
    filters = kerncijfers_filter(config.gemeente)
    request = {"catalog": OPEN_CATALOG, "table": table_id, "filter": filters}
    raw, cached = cached_fetch(cache_folder(config), table_id, request,
                               lambda: fetch(table_id, filters, OPEN_CATALOG), offline)
    own = _own_codes(config.gemeente)

    def wanted(code: str) -> bool:
        return own(code) or code == NATIONAL or bool(GEMEENTE_CODE.match(code))

    values = long_values(raw, table_id, year, wanted)
    if values.empty:
        raise InputError(f"CBS-tabel {table_id}: geen rijen voor {config.gemeente} in het antwoord")
    _warn_without_national(values, table_id)
    absent = absent_variables(raw, config.gemeente, year)
    record = LoadRecord("cbs", f"{table_id}:{year}", api_table=f"{OPEN_CATALOG}/{table_id}",
                        path=cached, rows_read=len(_dataset(raw, table_id)),
                        rows_kept=values["area_code"].nunique(), period_first=f"{year}-01-01",
                        period_last=f"{year}-12-31")
    names = region_names(raw, lambda c: c == NATIONAL or bool(GEMEENTE_CODE.match(c)))
    store.write_load(record, {"cbs_values": pd.concat([values, absent], ignore_index=True)
                              .assign(table_id=table_id),
                              "region_names": names.assign(year=year)})
    statuses = values["status"].value_counts()
    log.debug("CBS %s (%d) geladen: %s gebieden, %s waarden; %s geheim, %s ontbreekt (blijven leeg)",
             table_id, year, f"{record.rows_kept:,}", f"{len(values):,}",
             f"{statuses.get(cells.SECRET, 0):,}", f"{statuses.get(cells.MISSING, 0):,}")
    if not absent.empty:
        log.warning("CBS-tabel %s (%d) heeft geen %s: niet beschikbaar in %d", table_id, year,
                    ", ".join(absent["variable"]), year)
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
        raise InputError(f"CBS-tabel {POLICE_TABLE}: geen kolom GeregistreerdeMisdrijven")
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
        value, status = cells.parse_cell(record.get(measure))
        rows.append((code, int(period[:4]), group, value, status))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # drug trafficking and smuggling add up to one value per area and year: rows are used,
    # not lost, so the load counts them as kept and names what was left out
    frame = frame.groupby(["area_code", "year", "variable"], as_index=False).agg(
        value=("value", lambda v: v.sum(min_count=1)), status=("status", _summed_status))
    frame.attrs.update(rows_used=len(rows), skipped=dict(skipped))
    return frame


def _summed_status(statuses: pd.Series) -> str:
    """The status of a sum: ``ok`` when any part has a value, else the first part's status."""
    return cells.OK if statuses.isin([cells.OK, cells.NIHIL]).any() else str(statuses.iloc[0])


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
    own = _own_codes(config.gemeente)
    values = police_values(raw, lambda c: own(c) or c == NATIONAL)
    if values.empty:
        raise InputError(f"CBS-tabel {POLICE_TABLE}: geen rijen voor {config.gemeente} in het antwoord")
    _warn_without_national(values, POLICE_TABLE)
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
