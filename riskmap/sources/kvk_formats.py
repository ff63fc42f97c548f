"""Ready-made KvK formats, so that no municipality has to write a column mapping.

``kvk-api``
    JSON as the KVK API returns it: Vestigingsprofiel objects (``vestigingsnummer``, ``kvkNummer``,
    ``materieleRegistratie.datumAanvang/datumEinde``, ``totaalWerkzamePersonen``,
    ``sbiActiviteiten[].sbiCode`` with ``indHoofdactiviteit``, ``adressen[]`` with ``type``,
    ``postcode``, ``huisnummer``, ``huisletter``, ``huisnummerToevoeging`` and
    ``geoData.rijksdriehoekX/Y`` or ``gpsLatitude/gpsLongitude``) or Basisprofiel objects (the
    ``_embedded.hoofdvestiging``, with ``_embedded.eigenaar.rechtsvorm``); as one object, a list,
    a list under a key, or one object per line. Or the same flattened to CSV (headers such as
    ``materieleRegistratie.datumAanvang`` or ``sbiActiviteiten[0].sbiCode``). Field names from
    KVK's OpenAPI specifications of API Vestigingsprofiel and Basisprofiel, version 1.4.
``sjabloon``
    riskmap's template (:data:`TEMPLATE`); common headers of Dutch KvK exports (``SBI-code
    hoofdactiviteit``, ``Datum vestiging``, ``Werkzame personen totaal``, ...) are recognised
    through :data:`HEADER_ALIASES`.

``auto`` (the default) picks ``kvk-api`` for JSON and for CSV with KVK API field names, else
``sjabloon``. Every reader returns text columns named as the template, and notes (counts).
"""

from __future__ import annotations

import ast
import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from riskmap.errors import InputError
from riskmap.fmt import integer
from riskmap.sources._io import header_of, normalise_header
from riskmap.sources._records import read_mapped

log = logging.getLogger(__name__)

FORMATS = ("auto", "kvk-api", "sjabloon")
TEMPLATE = ("vestigingsnummer", "kvk_nummer", "sbi_hoofdactiviteit", "sbi_nevenactiviteiten",
            "datum_aanvang", "datum_einde", "rechtsvorm", "werkzame_personen", "postcode",
            "huisnummer", "huisletter", "toevoeging", "x_rd", "y_rd", "lat", "lon", "peildatum",
            "handelsnaam")
# Headers (normalised) that other exports use for a template column, most specific first.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "vestigingsnummer": ("vestigingsnr", "vestiging_nummer", "vestigingnummer", "vestiging_nr"),
    "kvk_nummer": ("kvknummer", "kvk_nr", "kvknr", "dossiernummer"),
    "sbi_hoofdactiviteit": ("sbi_code_hoofdactiviteit", "hoofdactiviteit_sbi",
                            "hoofdactiviteit_sbi_code", "sbi_hoofdactiviteit_code",
                            "sbicode_hoofdactiviteit", "hoofd_sbi", "sbi_code", "sbicode"),
    "sbi_nevenactiviteiten": ("sbi_code_nevenactiviteiten", "sbi_code_nevenactiviteit",
                              "nevenactiviteiten_sbi", "sbi_nevenactiviteit"),
    "datum_aanvang": ("datumaanvang", "datum_vestiging", "datum_aanvang_vestiging",
                      "startdatum", "aanvangsdatum", "datum_start", "datum_oprichting"),
    "datum_einde": ("datumeinde", "einddatum", "datum_einde_vestiging", "datum_opheffing",
                    "datum_uitschrijving", "datum_beeindiging"),
    "rechtsvorm": ("uitgebreide_rechtsvorm", "rechtsvorm_omschrijving"),
    "werkzame_personen": ("werkzame_personen_totaal", "totaal_werkzame_personen",
                          "totaalwerkzamepersonen", "aantal_werkzame_personen", "wp_totaal"),
    "postcode": ("postcode_bezoekadres", "bezoekadres_postcode", "vestigingsadres_postcode"),
    "huisnummer": ("huisnummer_bezoekadres", "bezoekadres_huisnummer", "huisnr"),
    "huisletter": ("bezoekadres_huisletter",),
    "toevoeging": ("huisnummertoevoeging", "huisnummer_toevoeging", "toevoeging_huisnummer",
                   "bezoekadres_huisnummertoevoeging"),
    "x_rd": ("rd_x", "x_coordinaat", "xcoordinaat", "rijksdriehoekx", "x"),
    "y_rd": ("rd_y", "y_coordinaat", "ycoordinaat", "rijksdriehoeky", "y"),
    "lat": ("latitude", "breedtegraad", "gpslatitude"),
    "lon": ("longitude", "lengtegraad", "gpslongitude", "lng"),
    "handelsnaam": ("eerste_handelsnaam", "eerstehandelsnaam", "handelsnaam_vestiging",
                    "naam_vestiging", "vestigingsnaam"),
    "peildatum": ("datum_peil", "extractdatum", "datum_extract", "datum_uittreksel",
                  "uittrekseldatum", "selectiedatum"),
}
_ALIASES = {alias for aliases in HEADER_ALIASES.values() for alias in aliases}
# what the loader reads of an API profile flattened to a CSV: these fields and those objects
_API_FIELDS = {"kvknummer", "rechtsvorm", "totaalwerkzamepersonen", "eerstehandelsnaam"}
_API_OBJECTS = ("sbiactiviteiten", "materieleregistratie", "adressen", "embedded")
_API_HEADS = ("sbiactiviteiten", "materieleregistratie", "adressen_", "embedded_")
_HVDS_FIELDS = {"postcoderegio", "activiteiten"}
_LIST_KEYS = ("vestigingen", "resultaten", "profielen", "items", "data", "results")
_YES = {"ja", "j", "true", "1", "yes"}


def read_extract(path: Path, format: str = "auto",
                 mapping: str | Path | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read a KvK extract in ``format`` into template columns; returns the frame and notes."""
    if format not in FORMATS:
        raise InputError(f"onbekend formaat {format!r} voor --format; kies uit "
                         f"{', '.join(FORMATS)}")
    if path.suffix.lower() in {".json", ".jsonl", ".ndjson"}:
        if format == "sjabloon":
            raise InputError(f"{path}: een JSON-bestand heeft --format kvk-api (of auto)")
        return _api_frame(_json_records(path), path)
    frame = read_mapped(path, mapping, used)
    _refuse_open_dataset(header_of(frame), path)
    api = any(c.startswith(_API_HEADS) for c in frame.columns)
    if format == "kvk-api" and not api:
        raise InputError(f"{path}: geen velden van de KVK API gevonden (zoals "
                         f"sbiActiviteiten.0.sbiCode of materieleRegistratie.datumAanvang)")
    if api and format != "sjabloon":
        return _api_frame(list(_nested_rows(frame)), path)
    return with_aliases(frame, path), {}


def used(name: str) -> bool:
    """Whether the loader reads this (normalised) header: a template column or an alias of
    one, a numbered SBI side activity or a field of the KVK API flattened to a header. Other
    columns (statutaire naam, street, phone, website) are never read."""
    return name in TEMPLATE or name in _ALIASES or name in _API_FIELDS \
        or name.startswith(_API_OBJECTS) or (name.startswith("sbi") and "neven" in name)


def with_aliases(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Rename recognised export headers to template columns (see :data:`HEADER_ALIASES`)."""
    renames: dict[str, str] = {}
    for column, aliases in HEADER_ALIASES.items():
        if column in frame.columns:
            continue
        found = [a for a in aliases if a in frame.columns and a not in renames]
        if found:
            renames[found[0]] = column
    numbered = sorted(c for c in frame.columns if c.startswith("sbi")
                      and "neven" in c and c[-1].isdigit())
    if numbered and "sbi_nevenactiviteiten" not in frame.columns \
            and "sbi_nevenactiviteiten" not in renames.values():
        frame = frame.assign(sbi_nevenactiviteiten=frame[numbered].agg(",".join, axis=1))
    if renames:
        log.info("%s: kolommen gelezen als %s", path.name,
                 ", ".join(f"{source!r} → {column!r}" for source, column in renames.items()))
    return frame.rename(columns=renames)


def _refuse_open_dataset(columns: Any, path: Path) -> None:
    names = {str(c) for c in columns}
    if {n.split("_")[0] for n in names} >= _HVDS_FIELDS and "vestigingsnummer" not in names:
        raise InputError(f"{path}: dit is de KVK open dataset basisbedrijfsgegevens; die heeft "
                         f"geen vestigingsnummer en alleen de eerste twee cijfers van de postcode, "
                         f"dus vestigingen zijn niet aan buurten toe te wijzen")


def _lower(value: Any) -> Any:
    if isinstance(value, dict):
        return {normalise_header(k): _lower(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value


def _json_records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError(f"{path}: bestand niet gevonden")
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: geen geldige JSON (regel {exc.lineno}: {exc.msg})") from exc
    data = _lower(data)
    if isinstance(data, dict):
        lists = [data[k] for k in _LIST_KEYS if isinstance(data.get(k), list)]
        data = lists[0] if lists and "vestigingsnummer" not in data else [data]
    records = [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
    _refuse_open_dataset({k for r in records for k in r}, path)
    if not any(_profile(r)[0].get("vestigingsnummer") for r in records):
        raise InputError(f"{path}: geen vestigingen gevonden (verwacht KVK API-objecten met "
                         f"vestigingsnummer)")
    return records


def _cell(value: str) -> Any:
    """A flattened CSV cell: JSON or Python-literal lists/objects are parsed, text is kept."""
    text = value.strip()
    if text[:1] in "[{":
        for parse in (json.loads, ast.literal_eval):
            try:
                return _lower(parse(text))
            except (ValueError, SyntaxError):
                continue
    return text


def _nested_rows(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """Rows of a flattened CSV as nested objects (``adressen_0_postcode`` → adressen[0].postcode)."""
    paths = [c.split("_") for c in frame.columns]
    for values in frame.itertuples(index=False, name=None):
        row: dict[str, Any] = {}
        for parts, value in zip(paths, values, strict=True):
            if str(value).strip() == "":
                continue
            target = row
            for part in parts[:-1]:
                target = target.setdefault(part, {})
                if not isinstance(target, dict):
                    break
            else:
                target[parts[-1]] = _cell(str(value))
        yield row


def _items(value: Any) -> list[dict[str, Any]]:
    """A list of objects from a list, an object keyed by index (flattened), or one object."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if isinstance(value, dict):
        if value and all(str(k).isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int) if isinstance(value[k], dict)]
        return [value]
    return []


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _profile(record: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The establishment object and its fallback (the Basisprofiel around a hoofdvestiging)."""
    embedded = record.get("embedded") or {}
    main = embedded.get("hoofdvestiging") if isinstance(embedded, dict) else None
    if isinstance(main, dict) and "vestigingsnummer" not in record:
        return main, record
    return record, {}


def _count(notes: dict[str, int], what: str) -> None:
    notes[what] = notes.get(what, 0) + 1


def _main_and_other(activities: list[dict[str, Any]], notes: dict[str, int]) -> tuple[str, str]:
    codes = [(_text(a.get("sbicode")), _text(a.get("indhoofdactiviteit")).lower() in _YES)
             for a in activities if _text(a.get("sbicode"))]
    main = [c for c, flag in codes if flag]
    if not main and codes:
        _count(notes, "geen hoofdactiviteit aangegeven (eerste SBI-code genomen)")
        main = [codes[0][0]]
    others = [c for c, _ in codes if c not in main[:1]]
    return (main[0] if main else ""), ",".join(others)


def _address(addresses: list[dict[str, Any]]) -> dict[str, str]:
    visit = [a for a in addresses if _text(a.get("type")).lower() == "bezoekadres"]
    if not visit:
        return {}
    place = visit[0]
    geo = place.get("geodata")
    geo = geo if isinstance(geo, dict) else {}
    x, y = _text(geo.get("rijksdriehoekx")), _text(geo.get("rijksdriehoeky"))
    if not (x and y):  # WGS84 written in the RD columns is recognised and converted when placing
        x, y = _text(geo.get("gpslatitude")), _text(geo.get("gpslongitude"))
    return {"postcode": _text(place.get("postcode")), "huisnummer": _text(place.get("huisnummer")),
            "huisletter": _text(place.get("huisletter")),
            "toevoeging": _text(place.get("huisnummertoevoeging")), "x_rd": x, "y_rd": y}


def _api_row(record: Mapping[str, Any], notes: dict[str, int]) -> dict[str, str]:
    vest, outer = _profile(record)

    def pick(key: str) -> Any:
        return vest.get(key) if vest.get(key) not in (None, "", [], {}) else outer.get(key)

    dates = pick("materieleregistratie")
    dates = dates if isinstance(dates, dict) else {}
    owner = (outer.get("embedded") or {}).get("eigenaar") or {}
    main, other = _main_and_other(_items(pick("sbiactiviteiten")), notes)
    address = _address(_items(vest.get("adressen")))
    if not address:
        _count(notes, "geen bezoekadres")
    return {"vestigingsnummer": _text(vest.get("vestigingsnummer")),
            "kvk_nummer": _text(pick("kvknummer")), "sbi_hoofdactiviteit": main,
            "sbi_nevenactiviteiten": other,
            "datum_aanvang": _text(dates.get("datumaanvang")),
            "datum_einde": _text(dates.get("datumeinde")),
            "rechtsvorm": _text(vest.get("rechtsvorm") or owner.get("rechtsvorm")),
            "werkzame_personen": _text(pick("totaalwerkzamepersonen")),
            "handelsnaam": _text(pick("eerstehandelsnaam")), **address}


def _api_frame(records: list[dict[str, Any]], path: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    notes: dict[str, int] = {}
    frame = pd.DataFrame([_api_row(r, notes) for r in records]).fillna("")
    if frame.empty:
        raise InputError(f"{path}: geen vestigingen gevonden")
    log.debug("%s: %s records van de KVK API gelezen", path.name, integer(len(frame)))
    return frame.astype(str), notes
