"""Area boundaries: the CBS wijk- en buurtkaart and analysis areas (bedrijventerreinen from IBIS
or an own layer, vakantieparken, ...: see :mod:`riskmap.areatypes`).

Everything is stored in EPSG:28992; a layer in WGS84, or without a CRS but with lon/lat values,
is converted. The wijk- en buurtkaart splits an area into a land part (``water = 'NEE'``) and a
water part (``'JA'``; older shapefiles call the column ``H2O``). Both parts are kept as the area,
so a point in a harbour or at a houseboat is placed; ``area_ha`` is the land area, and the
area's ``attributes`` give ``water_ha`` and, for an area that has no land part (a water buurt),
``"waterbuurt": true``. The boundary year is the layer's own ``jaar`` (IBIS: ``JAAR``) unless
given.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from riskmap.areatypes import area_types
from riskmap.config import Config
from riskmap.errors import InputError
from riskmap.fmt import integer, number
from riskmap.sources._io import blank, parse_numbers, read_layer
from riskmap.store import CRS, LoadRecord, Store, geometry_to_wkb

log = logging.getLogger(__name__)

LEVEL_LAYERS = {"gemeente": "gemeenten", "wijk": "wijken", "buurt": "buurten"}
_CODE_COLUMNS = {
    "buurt": ("buurtcode", "bu_code", "statcode"),
    "wijk": ("wijkcode", "wk_code", "statcode"),
    "gemeente": ("gemeentecode", "gm_code", "statcode"),
}
_NAME_COLUMNS = {
    "buurt": ("buurtnaam", "bu_naam", "statnaam"),
    "wijk": ("wijknaam", "wk_naam", "statnaam"),
    "gemeente": ("gemeentenaam", "gm_naam", "statnaam"),
}
_PREFIX = {"buurt": "BU", "wijk": "WK", "gemeente": "GM"}
_WATER_COLUMNS = ("water", "h2o")
_SURFACES = [int(shapely.GeometryType.POLYGON), int(shapely.GeometryType.MULTIPOLYGON)]


def repaired(geometry: np.ndarray) -> np.ndarray:
    """Valid shapes (:func:`shapely.make_valid`) that are surfaces only: repairing a ring that
    runs out along a line and back gives the surface and the line as a GeometryCollection
    (one wijk of the CBS 2014 boundaries), which web maps show no tooltip for and GeoPackage
    layers of polygons do not hold; the line is dropped. A shape with no surface (a ring
    collapsed to a line) comes back empty."""
    valid = shapely.make_valid(geometry)
    kinds = shapely.get_type_id(valid)
    for at in np.flatnonzero(~np.isin(kinds, _SURFACES)):
        parts = shapely.get_parts(valid[at])
        surfaces = parts[np.isin(shapely.get_type_id(parts), _SURFACES)]
        valid[at] = shapely.union_all(surfaces) if len(surfaces) else shapely.Polygon()
    return valid


def strip_code(values: pd.Series) -> pd.Series:
    """CBS region codes without padding: ``'BU00340101  '`` becomes ``'BU00340101'``."""
    return values.astype(str).str.strip().str.upper()


def to_rd(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """The layer in EPSG:28992, converting WGS84 (or CRS-less lon/lat) and refusing the unknown.

    Raises
    ------
    InputError
        When the declared CRS does not fit the coordinates (e.g. RD metres labelled EPSG:4326
        or EPSG:3857): after conversion the layer must lie in the Netherlands.
    """
    raw_bounds = frame.total_bounds
    declared = "geen CRS" if frame.crs is None else f"CRS {frame.crs.to_string()}"
    if frame.crs is None:
        minx, miny, maxx, maxy = raw_bounds
        if minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90:
            log.warning("%s heeft geen CRS en lengte/breedte-waarden; gelezen als EPSG:4326", path)
            frame = frame.set_crs("EPSG:4326")
        else:
            log.warning("%s heeft geen CRS; gelezen als EPSG:28992 (RD New)", path)
            frame = frame.set_crs(CRS)
    if frame.crs.to_epsg() != 28992:
        try:
            frame = frame.to_crs(CRS)
        except Exception as exc:  # pyproj raises several types for unknown CRSs
            raise InputError(f"{path}: CRS {frame.crs} is niet om te zetten naar {CRS} ({exc})") from exc
    _refuse_outside_netherlands(frame, raw_bounds, declared, path)
    return frame


# RD New bounds of the Netherlands with a margin of 10 km (EEZ waters and border areas).
_NL_RD = (-10_000.0, 279_000.0, 310_000.0, 639_000.0)


def _refuse_outside_netherlands(frame: gpd.GeoDataFrame, raw_bounds: np.ndarray, declared: str,
                                path: Path) -> None:
    bounds = frame.total_bounds
    low_x, low_y, high_x, high_y = _NL_RD
    inside = (np.isfinite(bounds).all() and bounds[0] >= low_x and bounds[1] >= low_y
              and bounds[2] <= high_x and bounds[3] <= high_y)
    if inside:
        return
    if not np.isfinite(raw_bounds).all():
        raise InputError(f"{path}: de laag heeft geen bruikbare geometrieën")
    minx, miny, maxx, maxy = (_coordinate(value) for value in raw_bounds)
    raise InputError(f"{path}: de laag heeft {declared}, maar de coördinaten (x {minx}.."
                     f"{maxx}, y {miny}..{maxy}) lijken {_looks_like(raw_bounds)} "
                     f"en liggen zo niet in Nederland; zet de juiste CRS in het bestand "
                     f"(bijv. ogr2ogr -a_srs EPSG:28992 uit.gpkg in.gpkg)")


def _coordinate(value: float) -> str:
    """A coordinate for a message: whole metres, or degrees to four decimals."""
    return number(value, 0 if abs(value) >= 1_000 else 4)


def _looks_like(bounds: np.ndarray) -> str:
    """What coordinates with these bounds look like (RD metres, degrees, Web Mercator)."""
    minx, miny, maxx, maxy = bounds
    if minx >= 0 and maxx <= 300_000 and miny >= 289_000 and maxy <= 629_000:
        return "RD-meters (EPSG:28992)"
    if minx >= 3.2 and maxx <= 7.3 and miny >= 50.6 and maxy <= 53.7:
        return "lengte- en breedtegraden (EPSG:4326)"
    if minx >= 50.6 and maxx <= 53.7 and miny >= 3.2 and maxy <= 7.3:
        return "breedte- en lengtegraden, verwisseld (EPSG:4326 met lat/lon-volgorde)"
    if minx >= 350_000 and maxx <= 820_000 and miny >= 6_550_000 and maxy <= 7_100_000:
        return "Web Mercator-meters (EPSG:3857)"
    return "geen Nederlandse RD-, WGS84- of Web Mercator-coördinaten"


def _pick(frame: pd.DataFrame, options: tuple[str, ...], path: Path, what: str) -> str:
    for name in options:
        if name in frame.columns:
            return name
    raise InputError(f"{path}: kolom voor {what} ontbreekt: een van {', '.join(options)}; "
                     f"gevonden: {', '.join(c for c in frame.columns if c != 'geometry')}")


def _file_year(frame: pd.DataFrame) -> int | None:
    """The latest year in the layer's own ``jaar`` column (CBS wijk- en buurtkaart, IBIS)."""
    if "jaar" not in frame.columns:
        return None
    found = parse_numbers(frame["jaar"].astype(str)).dropna()
    return int(found.max()) if not found.empty else None


def _boundary_year(path: Path, file_years: list[int | None], year: int | None,
                   config: Config) -> int:
    if year:
        return year
    found = [y for y in file_years if y]
    if found:
        return max(found)
    match = re.search(r"(20\d\d)", path.stem)
    return int(match.group(1)) if match else int(config["boundary_year"])


def _areas_of_level(raw: gpd.GeoDataFrame, level: str, path: Path,
                    gemeenten: Collection[str]) -> gpd.GeoDataFrame:
    code_col = _pick(raw, _CODE_COLUMNS[level], path, f"de {level}code")
    name_col = _pick(raw, _NAME_COLUMNS[level], path, f"de {level}naam")
    frame = raw.copy()
    frame["code"] = strip_code(frame[code_col])
    bad = ~frame["code"].str.match(rf"^{_PREFIX[level]}\d+$")
    if bad.all():
        raise InputError(f"{path}: kolom {code_col} bevat geen {level}codes "
                         f"(verwacht {_PREFIX[level]}...; eerste waarde {frame['code'].iloc[0]!r})")
    frame = frame.loc[~bad]
    water = next((c for c in _WATER_COLUMNS if c in frame.columns), None)
    frame["_water"] = frame[water].astype(str).str.strip().str.upper().eq("JA") if water else False
    digits = frame["code"].str[2:]
    frame["gemeente"] = "GM" + digits.str[:4]
    frame["wijk"] = ("WK" + digits.str[:6]) if level == "buurt" else None
    if gemeenten:
        frame = frame.loc[frame["gemeente"].isin(gemeenten)]
    frame["name"] = frame[name_col].astype(str).str.strip()
    frame = frame.loc[frame.geometry.notna()]
    frame = frame.set_geometry(repaired(frame.geometry.values))
    frame = frame.loc[~frame.geometry.is_empty]
    frame["_water_ha"] = frame.geometry.area.where(frame["_water"], 0.0) / 10_000
    frame["_land_ha"] = frame.geometry.area.where(~frame["_water"], 0.0) / 10_000
    dissolved = frame.dissolve(by="code", aggfunc={
        "name": "first", "gemeente": "first", "wijk": "first", "_water_ha": "sum",
        "_land_ha": "sum"}).reset_index()
    dissolved["level"] = level
    dissolved.attrs["dropped"], dissolved.attrs["used"] = len(raw) - len(frame), len(frame)
    return dissolved


def _water_attributes(areas: pd.DataFrame) -> pd.Series:
    """JSON attributes of areas with a water part: its hectares, and whether it is all water."""
    def text(water_ha: float, land_ha: float) -> str | None:
        if not water_ha:
            return None
        flags = {"water_ha": round(float(water_ha), 2), **({"waterbuurt": True} if not land_ha
                                                            else {})}
        return json.dumps(flags)
    return pd.Series([text(w, la) for w, la in zip(areas["_water_ha"], areas["_land_ha"],
                                                   strict=True)], index=areas.index, dtype=object)


def load_boundaries(store: Store, config: Config, path: str | Path, layer: str | None = None,
                    year: int | None = None, gemeenten: Collection[str] | None = None) -> LoadRecord:
    """Load CBS boundaries (wijk- en buurtkaart GeoPackage, or GeoJSON/GPKG with statcode).

    Parameters
    ----------
    layer
        One layer to load; by default every one of ``gemeenten``, ``wijken``, ``buurten`` that
        the file has (a single-layer file is read whatever its layer is called).
    year
        Boundary year; by default from a ``jaar`` column, the file name, or the config.
    gemeenten
        CBS codes of the gemeenten to keep; by default the project's gemeente.
    """
    path = Path(path)
    keep = set(gemeenten) if gemeenten is not None else {config.gemeente}
    layers = _layers_to_read(path, layer)
    frames, read, file_years = [], 0, []
    for name, level in layers:
        raw = to_rd(read_layer(path, name), path)
        read += len(raw)
        file_years.append(_file_year(raw))
        frames.append(_areas_of_level(raw, level, path, keep))
    areas = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=CRS)
    if areas.empty:
        raise InputError(f"{path}: geen gebieden van {', '.join(sorted(keep))} in het bestand; "
                         f"controleer gemeente in riskmap.yaml")
    boundary_year = _boundary_year(path, file_years, year, config)
    if "gemeente" not in set(areas["level"]):
        areas = pd.concat([areas, _gemeente_from(areas)], ignore_index=True)
    levels = sorted(set(areas["level"]))
    used = int(sum(f.attrs["used"] for f in frames))
    record = LoadRecord("boundaries", f"{boundary_year}:{'+'.join(levels)}", path=path,
                        rows_read=read, rows_kept=used, boundary_year=boundary_year)
    record.reject("andere gemeente of geen code", int(sum(f.attrs["dropped"] for f in frames)))
    # land and water parts of one area are two features with the same code: both are used
    record.note("waterdeel samengevoegd met zijn gebied", used - sum(len(f) for f in frames))
    rows = _area_rows(areas, boundary_year, _water_attributes(areas), areas["_land_ha"])
    waterbuurten = int(rows["attributes"].str.contains('"waterbuurt"', na=False).sum())
    if waterbuurten:
        log.debug("%s: %d gebieden zonder land (waterbuurten) als gebied bewaard", path,
                  waterbuurten)
    marks = ",".join("?" * len(levels))
    store.write_load(record, {"areas": rows},
                     delete={"areas": (f"year = ? AND level IN ({marks})", [boundary_year, *levels])})
    log.debug("%s gebieden geladen (%s) voor %d", integer(len(areas)),
             ", ".join(f"{(areas['level'] == lv).sum()} {lv}" for lv in levels), boundary_year)
    return record


def _layers_to_read(path: Path, layer: str | None) -> list[tuple[str | None, str]]:
    try:
        available = [row[0] for row in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise InputError(f"{path}: niet te openen als GIS-bestand ({exc})") from exc
    by_name = {v: k for k, v in LEVEL_LAYERS.items()}
    if layer:
        if layer not in available:
            raise InputError(f"{path}: geen laag {layer!r}; de lagen zijn {', '.join(available)}")
        return [(layer, by_name.get(layer) or _level_from_codes(path, layer))]
    known = [(name, by_name[name]) for name in available if name in by_name]
    if known:
        return known
    if len(available) == 1:
        return [(available[0], _level_from_codes(path, available[0]))]
    raise InputError(f"{path}: geen laag met de naam {', '.join(LEVEL_LAYERS.values())}; "
                     f"kies er een met --layer (lagen: {', '.join(available)})")


def _level_from_codes(path: Path, layer: str) -> str:
    sample = read_layer(path, layer)
    for column in ("statcode", "buurtcode", "wijkcode", "gemeentecode", "bu_code", "wk_code"):
        if column in sample.columns:
            prefix = str(sample[column].iloc[0]).strip()[:2].upper()
            for level, code_prefix in _PREFIX.items():
                if prefix == code_prefix:
                    return level
    raise InputError(f"{path}: niet te bepalen of laag {layer!r} buurten, wijken of gemeenten "
                     f"bevat (geen kolom statcode/buurtcode/wijkcode)")


def _gemeente_from(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    finest = areas.loc[areas["level"] == areas["level"].iloc[0]]
    outline = finest.dissolve(by="gemeente", aggfunc={"_water_ha": "sum", "_land_ha": "sum"}) \
        .reset_index()
    outline["code"] = outline["gemeente"]
    outline["name"] = outline["code"]
    outline["wijk"] = None
    outline["level"] = "gemeente"
    return outline[["code", "name", "gemeente", "wijk", "level", "_water_ha", "_land_ha",
                    "geometry"]]


def _area_rows(areas: gpd.GeoDataFrame, year: int, attributes: pd.Series | None = None,
               area_ha: pd.Series | None = None) -> pd.DataFrame:
    return pd.DataFrame({
        "code": areas["code"].to_numpy(), "level": areas["level"].to_numpy(),
        "name": areas["name"].to_numpy(), "gemeente": areas["gemeente"].to_numpy(),
        "wijk": areas["wijk"].to_numpy(), "year": year,
        "area_ha": (area_ha if area_ha is not None else areas.geometry.area / 10_000).to_numpy(),
        "geometry": geometry_to_wkb(areas.geometry),
        "attributes": attributes.to_numpy() if attributes is not None else None,
    })


IBIS_FIELDS = ("rin_nummer", "plan_naam", "gem_codes", "ha_bruto", "ha_netto", "wloc_type")


def load_analysis_areas(store: Store, config: Config, level: str, path: str | Path,
                        id_field: str | None = None, name_field: str | None = None,
                        layer: str | None = None, year: int | None = None) -> LoadRecord:
    """Load the polygons of an analysis-area type (:mod:`riskmap.areatypes`): bedrijventerreinen
    (IBIS fields by default), vakantieparken, or any configured type, from the type's default id
    and name fields or the ones given.

    Areas are kept when they overlap the gemeente (or, without boundaries, when ``GEM_CODES``
    names it). Codes are the type's prefix + the id (``BT`` + IBIS ``RIN_NUMMER``). The year is
    ``year``, else the layer's ``JAAR`` (a file with several years gives its latest), else the
    project's boundary year. Establishments, addresses and events are placed in the areas loaded
    when they are loaded; a layer loaded after them is named in a warning (load them again).
    """
    area_type = area_types()[level]
    path = Path(path)
    raw = to_rd(read_layer(path, layer), path)
    id_col = _field(raw, id_field, area_type.id_field, path, "--id-field")
    name_col = _field(raw, name_field, area_type.name_field, path, "--name-field")
    record = LoadRecord(area_type.source, "", path=path, rows_read=len(raw))
    boundary_year = year or _file_year(raw) or int(config["boundary_year"])
    if not year and _file_year(raw):
        years = parse_numbers(raw["jaar"].astype(str))
        older = years.notna() & years.ne(boundary_year)
        record.reject("ander jaar in de laag", int(older.sum()))
        raw = raw.loc[~older]
    frame = raw.loc[~blank(raw[id_col])].copy()
    record.reject("geen id", len(raw) - len(frame))
    frame["code"] = area_type.prefix + frame[id_col].astype(str).str.strip() \
        .str.replace(r"\.0$", "", regex=True)
    frame["name"] = frame[name_col].astype(str).str.strip()
    frame = frame.set_geometry(repaired(frame.geometry.values))
    surface = ~frame.geometry.is_empty.to_numpy()
    record.reject("geen vlak (leeg, of alleen lijnen of punten)", int((~surface).sum()))
    frame = _inside_gemeente(store, config, frame.loc[surface], path)
    record.reject("buiten de gemeente", record.rows_read - record.rows_rejected - len(frame))
    duplicated = frame["code"].duplicated()
    record.reject("dubbel id", int(duplicated.sum()))
    frame = frame.loc[~duplicated]
    frame["level"], frame["gemeente"], frame["wijk"] = level, config.gemeente, None
    extra = [c for c in area_type.attributes if c in frame.columns]
    attributes = frame[extra].astype(str).apply(lambda r: json.dumps(r.to_dict()), axis=1) \
        if extra else None
    size = area_type.area_field
    area_ha = parse_numbers(frame[size]).fillna(frame.geometry.area / 10_000) \
        if size and size in frame.columns else None
    record.slice, record.rows_kept, record.boundary_year = str(boundary_year), len(frame), boundary_year
    rows = _area_rows(frame, boundary_year, attributes, area_ha)
    store.write_load(record, {"areas": rows}, delete={
        "areas": ("level = ? AND year = ?", [level, boundary_year])})
    _warn_placed_before(store, area_type.plural.lower(), path)
    return record


def _warn_placed_before(store: Store, what: str, path: Path) -> None:
    """Points are placed in analysis areas when they are loaded: name the loads that came
    before this layer and are therefore not placed in it."""
    earlier = store.query("SELECT DISTINCT source FROM loads WHERE active AND (source IN "
                          "('kvk', 'bag') OR source LIKE 'register:%') ORDER BY 1")
    if not earlier.empty:
        log.warning("%s: eerder geladen %s zijn niet in deze %s geplaatst; laad ze opnieuw om ze "
                    "mee te tellen", path, ", ".join(earlier["source"]), what)


def load_bedrijventerreinen(store: Store, config: Config, path: str | Path,
                            id_field: str | None = None, name_field: str | None = None,
                            layer: str | None = None, year: int | None = None) -> LoadRecord:
    """Load bedrijventerreinen: :func:`load_analysis_areas` for that type."""
    return load_analysis_areas(store, config, "bedrijventerrein", path, id_field, name_field,
                               layer, year)


def _field(frame: pd.DataFrame, given: str | None, default: str, path: Path, flag: str) -> str:
    name = (given or default).lower()
    if name not in frame.columns:
        others = ", ".join(c for c in frame.columns if c != "geometry")
        raise InputError(f"{path}: kolom {name!r} ontbreekt (kies een kolom met {flag}); gevonden: {others}")
    return name


def _inside_gemeente(store: Store, config: Config, frame: gpd.GeoDataFrame,
                     path: Path) -> gpd.GeoDataFrame:
    outline = store.areas("gemeente")
    outline = outline.loc[outline["code"] == config.gemeente]
    if not outline.empty:
        shape = outline.geometry.union_all()
        overlap = frame.geometry.intersection(shape).area / frame.geometry.area.clip(lower=1)
        return frame.loc[overlap > 0.5]
    if "gem_codes" in frame.columns:
        number = config.gemeente[2:]
        return frame.loc[frame["gem_codes"].astype(str).str.contains(number, regex=False)]
    log.warning("%s: geen gemeentegrens geladen en geen kolom GEM_CODES; alle terreinen blijven",
                path)
    return frame
