"""BAG addresses (verblijfsobjecten, ligplaatsen, standplaatsen): to place records that have an
address but no coordinates, and as denominators (e.g. business premises per bedrijventerrein).

Read without a mapping:

- the template (CSV/XLSX): ``postcode, huisnummer, huisletter, toevoeging, gebruiksdoel,
  oppervlakte, x_rd, y_rd`` (or ``lat, lon``), optionally ``nummeraanduiding``;
- NLExtract's ``bagadres-full.csv`` (``;``-separated; ``openbareruimte;huisnummer;huisletter;
  huisnummertoevoeging;postcode;...;nummeraanduiding;verblijfsobjectgebruiksdoel;
  oppervlakteverblijfsobject;verblijfsobjectstatus;object_id;object_type;nevenadres;...;x;y;lon;lat``,
  from ``bag/db/script/adres-full2csv.sql`` and, for BAG 2.0, ``bagv2/etl/sql/adres/
  adres-full2csv.sql`` with ``oppervlakteadresseerbaarobject``), recognised by its header;
- the Kadaster BAG GeoPackage (PDOK ``bag-light.gpkg``): layers ``verblijfsobject`` (points)
  and ``ligplaats``/``standplaats`` (polygons, placed at a point inside), read within the
  bounding box of the loaded buurten.

The address key is postcode, huisnummer, huisletter and toevoeging: the flats ``12``, ``12-1``
and ``12-2`` are three addresses. Where the file has the BAG ``nummeraanduiding`` (16 digits),
that is the address's identity (a repeated one is one address, e.g. a verblijfsobject in two
panden); it is kept as a pseudonym. A nevenadres (a second address of the same object) places
records but has no use of its own, so an object is counted once. Addresses are stored as a keyed
hash, never as text, with only what the indicators use: areas, 500 m cell and the
kind of use (see :func:`use_class`).
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely

from riskmap._forked import threaded
from riskmap.config import Config
from riskmap.errors import InputError
from riskmap.sources._io import (
    arrow_strings,
    blank,
    duplicated,
    duplicated_numbers,
    header_of,
    normalise_header,
    require_columns,
)
from riskmap.sources._places import (
    RASTER_MIN_POINTS,
    address_keys,
    coded_per_value,
    per_value,
)
from riskmap.sources._records import (
    AREA_COLUMNS,
    PLACE_COLUMNS,
    area_index,
    exact_duplicates,
    finish,
    locate,
    pseudonymiser,
    read_mapped,
    reject_where,
)
from riskmap.store import CRS, LoadRecord, Store, file_fingerprint, keep_only, kept_rows

log = logging.getLogger(__name__)

# bytes per address below which no BAG file has them (a CSV row holds a postcode, numbers,
# a use and coordinates): a file this many times RASTER_MIN_POINTS may need the raster
MIN_ROW_BYTES = 40

REQUIRED = ("postcode", "huisnummer", "gebruiksdoel")
LOCATION = (("x_rd", "y_rd"), ("lat", "lon"))
# Headers of NLExtract's CSV and of the BAG GeoPackage -> template columns.
ALIASES = {"huisnummertoevoeging": "toevoeging", "verblijfsobjectgebruiksdoel": "gebruiksdoel",
           "oppervlakteverblijfsobject": "oppervlakte",
           "oppervlakteadresseerbaarobject": "oppervlakte",
           "verblijfsobjectstatus": "status",
           "nummeraanduiding_hoofdadres_identificatie": "nummeraanduiding",
           "x": "x_rd", "y": "y_rd"}
NLEXTRACT = {"openbareruimte", "huisnummertoevoeging", "nummeraanduiding", "object_type",
             "nevenadres"}
# what the loader reads of a CSV or XLSX (street and place names are never read); NLExtract's
# pandid tells a verblijfsobject in two panden (two rows, "dubbel adres") from a repeated row
USED = {*REQUIRED, *PLACE_COLUMNS, *ALIASES, "oppervlakte", "status", "nummeraanduiding",
        "nevenadres", "object_type", "identificatie", "pandid"}
GPKG_LAYERS = {"verblijfsobject": None, "ligplaats": "ligplaats", "standplaats": "standplaats"}
GPKG_COLUMNS = ["identificatie", "status", "gebruiksdoel", "oppervlakte", "huisnummer",
                "huisletter", "toevoeging", "postcode", "nummeraanduiding_hoofdadres_identificatie"]
OBJECT_USES = {"LIG": "ligplaats", "STA": "standplaats"}
GONE = r"ingetrokken|niet gerealiseerd|ten onrechte"
TRUE = {"t", "true", "1", "ja", "j", "y", "yes"}


def read_bag(store: Store, path: Path, mapping: str | Path | None = None) -> pd.DataFrame:
    """A BAG file (template, NLExtract CSV or BAG GeoPackage) in template columns, as text."""
    if path.suffix.lower() == ".gpkg":
        frame = read_bag_geopackage(store, path)
    else:
        frame = read_mapped(path, mapping, USED.__contains__)
        if set(header_of(frame)) >= NLEXTRACT:
            log.debug("%s: NLExtract bagadres-full herkend", path.name)
    renames = {a: t for a, t in ALIASES.items() if a in frame.columns and t not in frame.columns}
    frame = frame.rename(columns=renames)
    if {"object_type", "gebruiksdoel"} <= set(frame.columns):
        # each once per distinct value (ten million rows, a handful of values)
        kind = per_value(frame["object_type"].astype(str),
                         lambda v: v.str.strip().str.upper().map(OBJECT_USES))
        given = ~per_value(frame["gebruiksdoel"], blank).to_numpy(bool)
        frame["gebruiksdoel"] = frame["gebruiksdoel"].where(given, kind).fillna("")
    return frame


def read_bag_geopackage(store: Store, path: Path) -> pd.DataFrame:
    """Verblijfsobjecten, ligplaatsen and standplaatsen of a BAG GeoPackage within the bounding
    box of the loaded buurten, with ``x_rd``/``y_rd`` of their point (a point inside a polygon)."""
    store.require_areas("buurt")
    bbox = tuple(store.areas("buurt").total_bounds)
    try:
        layers = {row[0] for row in pyogrio.list_layers(path)}
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise InputError(f"{path}: niet te openen als GeoPackage ({exc})") from exc
    if "verblijfsobject" not in layers:
        raise InputError(f"{path}: geen laag 'verblijfsobject' (een BAG-GeoPackage heeft "
                         f"verblijfsobject, ligplaats en standplaats); de lagen zijn "
                         f"{', '.join(sorted(layers))}")
    frames = [_gpkg_layer(path, layer, use, bbox) for layer, use in GPKG_LAYERS.items()
              if layer in layers]
    return pd.concat(frames, ignore_index=True)


def _gpkg_layer(path: Path, layer: str, use: str | None,
                bbox: tuple[float, ...]) -> pd.DataFrame:
    info = pyogrio.read_info(path, layer=layer)
    available = {normalise_header(f): f for f in info["fields"]}
    columns = [available[c] for c in GPKG_COLUMNS if c in available]
    raw = gpd.read_file(path, layer=layer, bbox=bbox, columns=columns, engine="pyogrio")
    if raw.crs is not None and raw.crs.to_epsg() != 28992:
        raw = raw.to_crs(CRS)
    points = shapely.point_on_surface(raw.geometry.values)
    frame = pd.DataFrame(raw.drop(columns=raw.geometry.name)).astype(object)
    frame.columns = [normalise_header(c) for c in frame.columns]
    frame = frame.where(frame.notna(), "").astype(str)
    frame["x_rd"], frame["y_rd"] = shapely.get_x(points), shapely.get_y(points)
    if use is not None:
        frame["gebruiksdoel"] = use
        frame["oppervlakte"] = np.round(raw.geometry.area.to_numpy())
    return frame


def bag_ids(values: pd.Series) -> pd.Series:
    """BAG identifiers as their 16 digits (leading zeros restored); ``""`` where not one (by
    Arrow, per value: ten million in two fifths of the time of pandas' string methods; each
    step only where some value needs it)."""
    text = pc.utf8_trim_whitespace(pc.fill_null(arrow_strings(values), ""))
    # an identifier read as a number by a spreadsheet ("363200000123456.0")
    dotted = pc.ends_with(text, ".0")
    if pc.any(dotted).as_py():
        text = pc.if_else(dotted, pc.utf8_slice_codeunits(text, 0, -2), text)
    length = pc.utf8_length(text)
    ok = pc.and_(pc.ascii_is_decimal(text), pc.less_equal(length, 16))
    if not pc.all(pc.equal(length, 16)).as_py():
        text = pc.utf8_lpad(text, 16, "0")
    if not pc.all(ok).as_py():
        text = pc.if_else(ok, text, "")
    return pd.Series(pd.array(text, dtype="str"), index=values.index)


def _uses(values: pd.Series) -> pd.Series:
    """Gebruiksdoelen as sorted, lower-case, comma-separated words without spaces."""
    return values.str.lower().str.replace(r"\s+", "", regex=True).str.split(",") \
        .map(lambda parts: ",".join(sorted(p for p in parts if p)))


USE_CLASSES = ("woonfunctie", "ligplaats", "standplaats")


def _yes(values: pd.Series) -> pd.Series:
    """Whether each text says yes (``t``, ``true``, ``ja``, ...)."""
    return values.str.strip().str.lower().isin(TRUE)


def use_class(gebruiksdoel: pd.Series) -> pd.Series:
    """``woonfunctie`` for a dwelling, ``ligplaats``/``standplaats`` for those objects, else
    ``overig`` (computed once per distinct gebruiksdoel): all the indicators need of the
    gebruiksdoel (business premises = neither). With the exact gebruiksdoel, floor area and
    100 m cell most addresses were unique against the public BAG, so none of those is
    stored."""
    def classes(values: pd.Series) -> pd.Series:
        text = _uses(values.astype(str))
        return text.where(text.isin(USE_CLASSES), "overig")
    return coded_per_value(gebruiksdoel, classes)


def _addresses(frame: pd.DataFrame, record: LoadRecord) -> pd.DataFrame:
    """The rows that are addresses, each once, with their ``key`` and nummeraanduiding
    (``_number``); the others are rejected in ``record``."""
    if "status" in frame.columns:
        gone = per_value(frame["status"].astype(str),
                         lambda status: status.str.contains(GONE, case=False, regex=True))
        frame = reject_where(frame, gone, "BAG-object bestaat niet (meer)", record)
    # the keys are made in a thread while this one reads the nummeraanduidingen: both are
    # Arrow's and numpy's work, which lets go of Python's lock
    with threaded([partial(address_keys, frame)]) as made:
        number = bag_ids(frame["nummeraanduiding"]) if "nummeraanduiding" in frame.columns \
            else pd.Series("", index=frame.index, dtype="str")
        numbers, repeats = _repeats(number)
        keys = next(made)
    invalid = (keys == "").to_numpy()
    frame = reject_where(frame.assign(key=keys), invalid, "ongeldige postcode of huisnummer",
                         record)
    if invalid.any():  # among the rows kept
        number = number[~invalid]
        numbers, repeats = _repeats(number)
    if repeats is None:  # not every row has a nummeraanduiding: the rows whose key repeats
        repeats = duplicated(frame["key"], keep=False)
    frame = frame.assign(_number=number)
    exact = exact_duplicates(frame, "key", repeats)
    frame = reject_where(frame, exact, "dubbele regel", record)
    if numbers is None:
        again = repeated_addresses(frame["_number"], frame["key"], repeats[~exact])
    else:  # an address comes again only among the rows whose nummeraanduiding does
        shared = repeats[~exact]
        again = np.zeros(len(frame), dtype=bool)
        again[shared] = duplicated_numbers(numbers[~exact][shared])
    return reject_where(frame, again, "dubbel adres", record)


def _repeats(number: pd.Series) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Where every row has a nummeraanduiding (``number``, ``""`` where none): those as
    numbers, and the rows an identical row may repeat (those whose nummeraanduiding is not
    theirs alone: identical rows share it, and numbers are compared at a quarter of the cost
    of address keys)."""
    if not number.ne("").all():
        return None, None
    numbers = _as_numbers(number)
    return numbers, duplicated_numbers(numbers, keep=False)


def repeated_addresses(number: pd.Series, key: pd.Series,
                       shared: np.ndarray | None = None) -> np.ndarray:
    """Rows whose address came before: the same nummeraanduiding or, for a row without one,
    the same postcode and number as another row without one (``shared``: the rows whose key
    may occur more than once, when known)."""
    has = number.ne("").to_numpy(bool)
    # identifiers (16 digits, see bag_ids) compared as numbers
    if has.all():
        return duplicated_numbers(_as_numbers(number))
    by_key = ~has if shared is None else ~has & shared
    repeated = np.zeros(len(number), dtype=bool)
    if has.any():
        repeated[has] = duplicated_numbers(_as_numbers(number[has]))
    if by_key.any():
        repeated[by_key] = duplicated(key[by_key])
    return repeated


def _as_numbers(ids: pd.Series) -> np.ndarray:
    return pc.cast(arrow_strings(ids), pa.int64()).to_numpy()


def load_bag(store: Store, config: Config, path: str | Path,
             mapping: str | Path | None = None) -> LoadRecord:
    """Load BAG addresses into ``addresses`` (replaces the previous BAG load)."""
    path = Path(path)
    index = area_index(store, config)
    # while this one reads the file (Arrow's reading lets go of Python's lock), a thread makes
    # its fingerprint and, for a file large enough to need it, the buurten's raster (see
    # PolygonLookup)
    large = path.is_file() and path.stat().st_size >= RASTER_MIN_POINTS * MIN_ROW_BYTES
    with threaded([partial(file_fingerprint, path)] if path.is_file() else []) as fingerprint, \
            threaded([index.prepared] if large else []) as made:
        frame = read_bag(store, path, mapping)
        require_columns(frame, REQUIRED, path, alternatives=LOCATION)
        record = LoadRecord("bag", "adressen", path=path, rows_read=len(frame))
        frame = _addresses(frame, record)
        index = next(made, index)
        record.fingerprint = next(fingerprint, None)
    pseudo = pseudonymiser(store, config)
    # the pseudonyms are made in another process while this one places the addresses
    numbers = frame["_number"].where(frame["_number"] != "", None)
    with pseudo.meanwhile([(frame["key"], "adres"), (numbers, "nummeraanduiding")],
                          frame.index) as hashed:
        del numbers
        # addresses are placed by their own coordinates only: drop the address columns for
        # locate; an address keeps no 100 m cell (data minimisation), so none is made
        areas, inside = locate(store, config, frame.drop(columns=["postcode", "huisnummer"]),
                               record, pseudo, sizes=(500,), index=index)
        # only the columns stored are copied, and the others are let go first (ten million
        # addresses)
        frame = frame[[c for c in ("gebruiksdoel", "nevenadres") if c in frame]]
        areas = areas[list(AREA_COLUMNS)]  # without 100 m cells: asked for none
        # once per distinct value; without the column none is (ten million empty texts: 0.7 s)
        neven = per_value(frame["nevenadres"].astype(str), _yes).to_numpy(bool) \
            if "nevenadres" in frame else np.zeros(len(frame), dtype=bool)
        use = use_class(frame["gebruiksdoel"]).where(~neven, None)
        ids = hashed.take(frame.index)
        rows = pd.DataFrame({"id": ids, "nummeraanduiding": hashed.take(frame.index),
                             "use": use})
    rows = pd.concat([rows, areas], axis=1)
    keep_only(rows, inside)  # the rows outside the gemeente: left out as the store writes
    finish(record, kept_rows(rows),
           {"nevenadres (plaatst, telt niet als object)": int(neven[inside].sum())})
    store.write_load(record, {"addresses": rows})
    return record
