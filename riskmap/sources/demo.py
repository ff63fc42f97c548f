"""Deterministic demo gemeente *Havenwaard*, written as source files in the real formats.

:func:`build_world` simulates the gemeente from a seed; :func:`write_sources` writes what a real
gemeente would get: the CBS wijk- en buurtkaart (GeoPackage), IBIS bedrijventerreinen
(GeoPackage), a cbsodata-shaped JSON cache of CBS tables (the UntypedDataSet, with CBS's symbols
and the national row ``NL00``), a KvK extract (``;``-separated cp1252 CSV with decimal commas),
BAG addresses as NLExtract's ``bagadres-full.csv`` and register exports (CSV and XLSX). The real
loaders then read those files. :func:`hidden_risk` gives the planted risk, for tests only.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyarrow import csv
from pyproj import Transformer

from riskmap._forked import side_by_side
from riskmap.branches import branch_of
from riskmap.sources._cache import cache_path, write_cache
from riskmap.sources._demo_activity import (
    WORDS,
    build_addresses,
    build_establishments,
    build_events,
    buurt_statistics,
)
from riskmap.sources._demo_gemeenten import URBANITY, other_gemeenten
from riskmap.sources._demo_themes import (
    SBI2025_EXTRA,
    build_parks,
    earlier_registration,
    park_addresses,
    park_establishments,
    park_events,
    zorg_establishments,
    zorg_risk,
)
from riskmap.sources._demo_world import (
    BASINS,
    GEMEENTE,
    LAST_PERIOD,
    NAME,
    YEAR,
    World,
    build_geography,
    build_terreinen,
    plant_risk,
)
from riskmap.sources.cbs import (
    KERNCIJFERS,
    NATIONAL,
    OPEN_CATALOG,
    POLICE_CATALOG,
    POLICE_TABLE,
    kerncijfers_filter,
    region_filter,
)
from riskmap.store import CRS

SEED = 20250930
_TO_WGS84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
# CBS urbanity class of the demo gemeente (1 zeer sterk .. 5 niet stedelijk): a port town.
DEMO_URBANITY = 3

# The 2024 (85984NED) keys of the variables the demo publishes, with CBS's titles and units, and
# the publication rules CBS states in their descriptions (the loader reads those rules).
RULES = {"GemiddeldeWOZWaardeVanWoningen": "Niet bepaald als de woningvoorraad kleiner is dan 20 "
                                           "woningen.",
         "OnbewoondeWoningen": "Alleen vermeld bij minimaal 20 woningen.",
         "InBezitWoningcorporatie": "Vermeld bij 20 woningen of meer per buurt.",
         "InBezitOverigeVerhuurders": "Vermeld bij 20 woningen of meer per buurt.",
         "HuishoudensMetEenLaagInkomen": "Vermeld bij minimaal 100 particuliere huishoudens "
                                         "behorende tot de doelpopulatie per regio."}
CBS_KEYS = {
    "AantalInwoners": ("AantalInwoners_5", "Aantal inwoners", "aantal"),
    "k_15Tot25Jaar": ("k_15Tot25Jaar_9", "15 tot 25 jaar", "aantal"),
    "HuishoudensTotaal": ("HuishoudensTotaal_29", "Huishoudens totaal", "aantal"),
    "Woningvoorraad": ("Woningvoorraad_35", "Woningvoorraad", "aantal"),
    "GemiddeldeWOZWaardeVanWoningen": ("GemiddeldeWOZWaardeVanWoningen_39",
                                       "Gemiddelde WOZ-waarde van woningen", "x 1 000 euro"),
    "OnbewoondeWoningen": ("OnbewoondeWoningen_46", "Onbewoonde woningen", "%"),
    "InBezitWoningcorporatie": ("InBezitWoningcorporatie_49", "In bezit woningcorporatie", "%"),
    "InBezitOverigeVerhuurders": ("InBezitOverigeVerhuurders_50", "In bezit overige verhuurders",
                                  "%"),
    "HuishoudensMetEenLaagInkomen": ("HuishoudensMetEenLaagInkomen_89",
                                     "Huishoudens met een laag inkomen", "%"),
    "PersonenPerSoortUitkeringBijstand": ("PersonenPerSoortUitkeringBijstand_94",
                                          "Personen per soort uitkering; Bijstand", "aantal"),
    "BedrijfsvestigingenTotaal": ("BedrijfsvestigingenTotaal_102", "Bedrijfsvestigingen totaal",
                                  "aantal"),
    "OppervlakteLand": ("OppervlakteLand_123", "Oppervlakte land", "ha"),
    "BuitenEuropa": ("BuitenEuropa_19", "Buiten Europa", "aantal"),
}
RATES = {"GemiddeldeWOZWaardeVanWoningen": "Woningvoorraad", "OnbewoondeWoningen": "Woningvoorraad",
         "InBezitWoningcorporatie": "Woningvoorraad", "InBezitOverigeVerhuurders": "Woningvoorraad",
         "HuishoudensMetEenLaagInkomen": "HuishoudensTotaal"}
NATIONAL_POLICE = {"0.0.0": 797_000, "2.6.1": 5_900, "2.6.2": 1_100}
NATIONAL_VALUES = {"AantalInwoners": 17_942_942, "k_15Tot25Jaar": 2_218_000,
                   "HuishoudensTotaal": 8_250_000, "Woningvoorraad": 8_200_000,
                   "GemiddeldeWOZWaardeVanWoningen": 360, "OnbewoondeWoningen": 4,
                   "InBezitWoningcorporatie": 28, "InBezitOverigeVerhuurders": 14,
                   "HuishoudensMetEenLaagInkomen": 7.5,
                   "PersonenPerSoortUitkeringBijstand": 404_000,
                   "BedrijfsvestigingenTotaal": 2_430_000, "OppervlakteLand": 3_367_000,
                   "BuitenEuropa": 2_600_000}


def build_world(seed: int = SEED) -> World:
    """Simulate Havenwaard from ``seed`` (same seed, same world)."""
    rng = np.random.default_rng(seed)
    wijken, buurten = build_geography(rng)
    terreinen = build_terreinen(wijken)
    buurten["risk"] = plant_risk(buurten, rng)
    stats = buurt_statistics(buurten, buurten["risk"].to_numpy(), rng)
    buurten = buurten.merge(stats, on="code")
    buurten["BuitenEuropa"] = _origin_outside_europe(buurten, np.random.default_rng(seed + 3))
    n_business = (buurten["kind"].map({"centrum": 200, "wonen": 40, "haven": 160,
                                       "industrie": 140, "buitengebied": 30}).to_numpy())
    addresses = build_addresses(buurten, terreinen, stats, n_business, rng)
    buurt_risk = buurten.set_index("code")["risk"]
    establishments = build_establishments(buurten, addresses, buurt_risk, terreinen, rng)
    zones = _event_zones(buurten, terreinen, addresses, establishments)
    events = build_events(zones, addresses, establishments, rng)
    police = _police(buurten, establishments, rng)
    gemeente = shapely.union_all(wijken.geometry.values)
    world = World(gemeente, wijken, buurten, terreinen, addresses, establishments, events, police)
    return _add_theme_parts(world, np.random.default_rng(seed + 7))


def _add_theme_parts(world: World, rng: np.random.Generator) -> World:
    """The vakantieparken, the zorg establishments and the earlier registrations (see
    :mod:`riskmap.sources._demo_themes`), added after the rest from their own generator."""
    world.buurten["zorg_risk"] = zorg_risk(world.buurten)
    world.parks = build_parks(world.terreinen, rng)
    on_parks = park_addresses(world.parks, world.buurten, rng)
    world.addresses = pd.concat([world.addresses, on_parks.drop(columns=["park", "park_risk"])],
                                ignore_index=True)
    extra = pd.concat([zorg_establishments(world.buurten, world.addresses, rng),
                       park_establishments(on_parks, rng)], ignore_index=True)
    est = world.establishments.assign(extra=False)
    first = len(est)
    extra["extra"] = True
    extra["vestigingsnummer"] = [f"{100000000000 + 7919 * (first + i):012d}"
                                 for i in range(len(extra))]
    extra["kvk_nummer"] = [f"{70000000 + 104729 * i % 9999999:08d}" for i in range(len(extra))]
    extra["handelsnaam"] = [f"{'Zorg' if k == 'zorg' else 'Park'} {WORDS[i % len(WORDS)]} {i}"
                            for i, k in enumerate(extra["kind"])]
    extra["sbi2025"] = extra["sbi"].map(SBI2025_EXTRA)
    est = pd.concat([est, extra], ignore_index=True)
    world.establishments = pd.concat([est, earlier_registration(est, rng)], axis=1)
    for kind, frame in park_events(on_parks, rng).items():
        world.events[kind] = pd.concat([world.events[kind], frame], ignore_index=True)
    return world


def _origin_outside_europe(buurten: gpd.GeoDataFrame, rng: np.random.Generator) -> np.ndarray:
    """Inhabitants with a migration background outside Europe (CBS rounds to 5): more where
    more people live on bijstand, as in Dutch cities; the hidden risk does not enter. Drawn from
    its own generator, so the rest of the world stays the same."""
    pop = buurten["AantalInwoners"].to_numpy(float)
    bijstand = buurten["PersonenPerSoortUitkeringBijstand"].to_numpy(float) / np.maximum(pop, 1)
    share = np.clip(0.04 + 4.0 * bijstand + 0.05 * rng.standard_normal(len(pop)), 0.01, 0.7)
    return 5 * np.round(pop * share / 5)


def _event_zones(buurten: gpd.GeoDataFrame, terreinen: gpd.GeoDataFrame, addresses: pd.DataFrame,
                 establishments: pd.DataFrame) -> pd.DataFrame:
    rows = []
    per_buurt = establishments.groupby("buurt").size()
    for buurt in buurten.itertuples():
        zone = addresses.index[addresses["buurt"] == buurt.code].to_numpy()
        rows.append((buurt.code, buurt.AantalInwoners, per_buurt.get(buurt.code, 0), buurt.risk,
                     zone))
    for terrein in terreinen.itertuples():
        inside = shapely.contains_xy(terrein.geometry, addresses["x"], addresses["y"])
        business = inside & (addresses["gebruiksdoel"] != "woonfunctie").to_numpy()
        n_est = int(shapely.contains_xy(terrein.geometry, establishments["x"],
                                        establishments["y"]).sum())
        rows.append((f"BT{terrein.rin}", 0, n_est, terrein.risk, addresses.index[business].to_numpy()))
    return pd.DataFrame(rows, columns=["area", "inhabitants", "establishments", "risk", "zone"])


def _police(buurten: gpd.GeoDataFrame, est: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    per_buurt = est.groupby("buurt").size().reindex(buurten["code"]).fillna(0).to_numpy()
    rows = []
    for year in (YEAR - 1, YEAR):
        pop, risk = buurten["AantalInwoners"].to_numpy(), buurten["risk"].to_numpy()
        total = rng.poisson(pop * 0.045 * (1 + risk) + per_buurt * 0.1)
        drugs = rng.poisson((pop / 1000 * 0.6 + per_buurt / 100 * 0.3) * np.exp(2.5 * (risk - 0.1)))
        smuggling = rng.poisson(0.05 + 0.3 * risk)
        for code, t, d, s in zip(buurten["code"], total, drugs, smuggling, strict=True):
            rows += [(code, year, "0.0.0", t), (code, year, "2.6.1", d), (code, year, "2.6.2", s)]
    return pd.DataFrame(rows, columns=["code", "year", "soort", "value"])


def hidden_risk(seed: int = SEED) -> pd.DataFrame:
    """The planted risk per buurt, bedrijventerrein and vakantiepark (``code, level, risk,
    planted``), and per buurt ``activity_risk``: the mean planted risk of its establishments,
    which includes the risk of a bedrijventerrein in it and is what its events and controle
    findings follow, and ``zorg_risk``: the separate field the zorg establishments follow.

    For tests and evaluation only: nothing in the pipeline reads it.
    """
    world = build_world(seed)
    activity = world.establishments.groupby("buurt")["risk"].mean()
    buurten = pd.DataFrame({"code": world.buurten["code"], "level": "buurt",
                            "risk": world.buurten["risk"],
                            "activity_risk": world.buurten["code"].map(activity).to_numpy(),
                            "zorg_risk": world.buurten["zorg_risk"]})
    terreinen = pd.DataFrame({"code": "BT" + world.terreinen["rin"].astype(str),
                              "level": "bedrijventerrein", "risk": world.terreinen["risk"]})
    parks = pd.DataFrame({"code": "VP" + world.parks["id"].astype(str), "level": "vakantiepark",
                          "risk": world.parks["risk"]}) if world.parks is not None else None
    frame = pd.concat([buurten, terreinen, parks], ignore_index=True)
    frame["planted"] = frame["risk"] >= 0.5
    return frame


def write_sources(world: World, folder: Path) -> dict[str, Path]:
    """Write the world as real-format source files into ``folder``; returns the paths by name.

    The files are written side by side where possible (:func:`riskmap._forked.side_by_side`;
    each writer draws from its own random generator), in three groups of about equal work: the
    KvK extracts and the registers, the BAG, the areas and CBS tables.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "registers").mkdir(exist_ok=True)

    def kvk_and_registers() -> dict[str, Path]:
        return {**_write_kvk(world, folder), **_write_registers(world, folder / "registers")}

    def bag() -> dict[str, Path]:
        return {"bag": _write_bag(world, folder / "bagadres-full.csv")}

    def areas() -> dict[str, Path]:
        _write_cbs_cache(world, folder / "cbs")
        return {
            "boundaries": _write_boundaries(world, folder / f"wijkenbuurten_{YEAR}.gpkg"),
            "bedrijventerreinen": _write_terreinen(world, folder / "ibis_bedrijventerreinen.gpkg"),
            "vakantieparken": _write_parks(world, folder / "vakantieparken.gpkg"),
            "cbs": folder / "cbs"}

    return {name: path for paths in side_by_side([kvk_and_registers, bag, areas])
            for name, path in paths.items()}


def _write_boundaries(world: World, path: Path) -> Path:
    common = {"gemeentecode": GEMEENTE, "gemeentenaam": NAME, "jaar": YEAR}
    gemeente = gpd.GeoDataFrame([{**common, "water": "NEE"}], geometry=[world.gemeente], crs=CRS)
    wijken = gpd.GeoDataFrame({"wijkcode": world.wijken["code"], "wijknaam": world.wijken["name"],
                               **common, "water": "NEE"}, geometry=world.wijken.geometry, crs=CRS)
    basins = shapely.union_all(BASINS)
    land = world.buurten.geometry.difference(basins)
    water = world.buurten.geometry.intersection(basins)
    buurt_columns = {"buurtcode": world.buurten["code"], "buurtnaam": world.buurten["name"],
                     "wijkcode": world.buurten["wijk"], **common,
                     "aantal_inwoners": world.buurten["AantalInwoners"]}
    land_rows = gpd.GeoDataFrame({**buurt_columns, "water": "NEE"}, geometry=land, crs=CRS)
    water_rows = gpd.GeoDataFrame({**buurt_columns, "water": "JA"}, geometry=water, crs=CRS)
    water_rows = water_rows.loc[~water_rows.geometry.is_empty]
    buurten = pd.concat([land_rows, water_rows], ignore_index=True)
    path.unlink(missing_ok=True)
    for name, layer in (("gemeenten", gemeente), ("wijken", wijken), ("buurten", buurten)):
        layer.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


def _write_terreinen(world: World, path: Path) -> Path:
    t = world.terreinen
    frame = gpd.GeoDataFrame({
        "RIN_NUMMER": t["rin"], "PLAN_NAAM": t["name"], "GEM_CODES": GEMEENTE[2:],
        "HA_BRUTO": (t.geometry.area / 10_000).round(1), "HA_NETTO": (t.geometry.area / 12_500).round(1),
        "WLOC_TYPE": t["wloc"]}, geometry=t.geometry, crs=CRS)
    path.unlink(missing_ok=True)
    frame.to_file(path, layer="bedrijventerreinen", driver="GPKG", engine="pyogrio")
    return path


def _write_parks(world: World, path: Path) -> Path:
    """The vakantieparken as a gemeente's own layer: ``id``, ``naam`` and the polygons."""
    parks = world.parks if world.parks is not None else gpd.GeoDataFrame(
        {"id": [], "name": []}, geometry=[], crs=CRS)
    frame = gpd.GeoDataFrame({"id": parks["id"], "naam": parks["name"]},
                             geometry=parks.geometry, crs=CRS)
    path.unlink(missing_ok=True)
    frame.to_file(path, layer="vakantieparken", driver="GPKG", engine="pyogrio")
    return path


def _write_bag(world: World, path: Path) -> Path:
    streets = world.addresses["buurt"].map(world.buurten.set_index("code")["name"]) + "weg"
    return write_bagadres(world.addresses, streets, GEMEENTE, NAME, path)


def write_bagadres(addresses: pd.DataFrame, streets: pd.Series, gemeente: str, naam: str,
                   path: Path) -> Path:
    """BAG addresses as NLExtract's ``bagadres-full.csv``: ``;``, UTF-8, decimal points, BAG
    identifiers of 16 digits (gemeentecode + object type + serial), booleans as ``t``/``f``.

    ``addresses`` has ``postcode, huisnummer, gebruiksdoel, oppervlakte, x, y`` (RD); ``streets``
    the street name of each address (same index).
    """
    a = addresses.reset_index(drop=True)
    serial = np.arange(1, len(a) + 1)
    number = gemeente[2:]
    lon, lat = _TO_WGS84.transform(a["x"].to_numpy(), a["y"].to_numpy())
    frame = pd.DataFrame({
        "openbareruimte": streets.to_numpy(), "huisnummer": a["huisnummer"], "huisletter": "",
        "huisnummertoevoeging": "", "postcode": a["postcode"], "woonplaats": naam,
        "gemeente": naam, "provincie": "Zuid-Holland",
        "nummeraanduiding": [f"{number}20{n:010d}" for n in serial],
        "verblijfsobjectgebruiksdoel": a["gebruiksdoel"],
        "oppervlakteverblijfsobject": a["oppervlakte"].astype(int),
        "verblijfsobjectstatus": "Verblijfsobject in gebruik",
        "object_id": [f"{number}01{n:010d}" for n in serial], "object_type": "VBO",
        "nevenadres": "f", "pandid": [f"{number}10{n:010d}" for n in serial],
        "pandstatus": "Pand in gebruik", "pandbouwjaar": 1950 + serial % 70,
        "x": a["x"].round(3), "y": a["y"].round(3), "lon": np.round(lon, 8),
        "lat": np.round(lat, 8)})
    # unquoted, as NLExtract writes it; by Arrow, in a fifteenth of pandas' time (a float
    # without decimals is written as ``445614``, not ``445614.0``: the same number)
    try:
        with path.open("wb") as out:
            out.write((";".join(frame.columns) + "\n").encode())
            csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), out,
                          csv.WriteOptions(include_header=False, delimiter=";",
                                           quoting_style="none"))
    except pa.ArrowInvalid:  # a name with a ``;`` or a quote: quoted where needed, by pandas
        frame.to_csv(path, sep=";", index=False, encoding="utf-8")
    return path


def _kvk_quirks(n: int) -> pd.DataFrame:
    """Per establishment, what is imperfect in its row of every extract (same in both)."""
    rng = np.random.default_rng(SEED + 1)
    draw = rng.random((6, n))
    return pd.DataFrame({"swap": draw[0] < 0.01, "no_xy": draw[1] < 0.03,
                         "outside": draw[2] < 0.0006, "lost_zero": draw[3] < 0.5,
                         "partial_day": draw[4] < 0.01, "partial_month": draw[4] > 0.997,
                         "unknown_sbi": draw[5] < 0.0004, "placeholder": draw[5] > 0.996,
                         "duplicate": (draw[5] > 0.3) & (draw[5] < 0.3012)})


def _kvk_dates(start: pd.Series, quirks: pd.DataFrame) -> pd.Series:
    """Start dates as ``dd-mm-jjjj``; the KvK's partial dates (``00-mm-jjjj``) where unknown."""
    text = pd.to_datetime(start).dt.strftime("%d-%m-%Y")
    text = text.where(~quirks["partial_day"], "00" + text.str[2:])
    return text.where(~quirks["partial_month"], "00-00-" + text.str[6:])


def _kvk_extract(world: World, as_of: date, version: int) -> pd.DataFrame:
    """The KvK extract taken on ``as_of``: establishments started by then, their end only if it
    had passed, and SBI codes in ``version`` (what the KvK registered on that day)."""
    e = world.establishments.reset_index(drop=True)
    extra = e["extra"].fillna(False).to_numpy(bool) if "extra" in e else np.zeros(len(e), bool)
    quirks = _kvk_quirks(int((~extra).sum())).reindex(range(len(e)), fill_value=False)
    x, y = e["x"].round(1).to_numpy(), e["y"].round(1).to_numpy()
    x, y = np.where(quirks["swap"], y, x), np.where(quirks["swap"], x, y)
    x = np.where(quirks["outside"], x - 30_000, x)
    before = version == 2008 and "sbi_before" in e
    sbi = e["sbi_before"].fillna(e["sbi"]) if before else e["sbi"]
    codes = sbi if version == 2008 else e["sbi2025"]
    codes = codes.where(~(codes.str.startswith("01") & quirks["lost_zero"]), codes.str.lstrip("0"))
    in_branch = branch_of(e["sbi"], 2008).notna()
    codes = codes.where(~(quirks["placeholder"] & ~in_branch),
                        np.where(np.arange(len(e)) % 2 == 0, "0002", "0001"))
    end = pd.to_datetime(e["end"])
    frame = pd.DataFrame({
        "Vestigingsnummer": e["vestigingsnummer"],
        "KvK-nummer": e["kvk_before"].fillna(e["kvk_nummer"]) if before else e["kvk_nummer"],
        "Handelsnaam": e["name_before"].fillna(e["handelsnaam"]) if before else e["handelsnaam"],
        "SBI hoofdactiviteit": codes.where(~quirks["unknown_sbi"], "99999"),
        "SBI nevenactiviteiten": _other_codes(e, version), "Datum aanvang": _kvk_dates(e["start"], quirks),
        "Datum einde": end.dt.strftime("%d-%m-%Y").where(end.dt.date <= as_of, "").fillna(""),
        "Rechtsvorm": e["legal_form"], "Werkzame personen": e["staff"],
        "Straat": "Kadeweg", "Postcode": e["postcode"], "Huisnummer": e["huisnummer"],
        "Huisletter": "", "Toevoeging": "", "Plaats": NAME,
        "X RD": [f"{v:.1f}".replace(".", ",") if not m else ""
                 for v, m in zip(x, quirks["no_xy"], strict=True)],
        "Y RD": [f"{v:.1f}".replace(".", ",") if not m else ""
                 for v, m in zip(y, quirks["no_xy"], strict=True)],
    })
    started = pd.to_datetime(e["start"]).dt.date <= as_of
    frame = pd.concat([frame, frame[quirks["duplicate"]]]).sort_index(kind="stable")
    return frame[started.reindex(frame.index).to_numpy()]


def _other_codes(e: pd.DataFrame, version: int) -> pd.Series:
    """The nevenactiviteiten in the extract's SBI version ("" where none)."""
    if "sbi_other" not in e:
        return pd.Series("", index=e.index)
    other = e["sbi_other"]
    return (other if version == 2008 else other.map(SBI2025_EXTRA)).fillna("")


def _write_kvk(world: World, folder: Path) -> dict[str, Path]:
    """Two KvK extracts as Dutch Excel exports (``;``, cp1252, decimal commas, dd-mm-jjjj): one
    taken now, after the KvK's conversion to SBI 2025 (``kvk_vestigingen.csv``), and one taken a
    year earlier, in SBI 2008 (``kvk_vestigingen_{year}.csv``), as a gemeente has them.

    A realistic share of rows is imperfect: duplicates, an unknown SBI code, SBI codes that lost
    their leading zero, KvK placeholder codes, partial start dates, swapped x/y, rows with an
    address but no coordinates, a few outside the gemeente.
    """
    now = LAST_PERIOD.end
    before = now.replace(year=now.year - 1)
    paths = {"kvk": folder / "kvk_vestigingen.csv",
             "kvk_vorig_jaar": folder / f"kvk_vestigingen_{before.year}.csv"}
    for path, (as_of, version) in zip(paths.values(), ((now, 2025), (before, 2008)), strict=True):
        _kvk_extract(world, as_of, version).to_csv(path, sep=";", index=False, encoding="cp1252")
    return paths


def _odata_dimension(codes: list[str], names: list[str]) -> list[dict[str, Any]]:
    return [{"Key": f"{c:<10}", "Title": n, "Description": None, "DetailRegionCode": c,
             "Municipality": NAME} for c, n in zip(codes, names, strict=True)]


def _establishments_per_buurt(world: World) -> pd.Series:
    """Establishments active on 1 January of the CBS year per buurt, rounded to fives."""
    e = world.establishments
    day = pd.Timestamp(YEAR, 1, 1)
    active = (pd.to_datetime(e["start"]) <= day) & ~(pd.to_datetime(e["end"]) <= day)
    counts = e.loc[active].groupby("buurt").size().reindex(world.buurten["code"]).fillna(0)
    return (5 * np.round(counts / 5)).astype(int)


def _kerncijfers_rows(world: World) -> pd.DataFrame:
    b = world.buurten.assign(
        BedrijfsvestigingenTotaal=_establishments_per_buurt(world).to_numpy())
    rows = b[["code", "name", "wijk", *CBS_KEYS]].copy()
    rows["soort"] = "Buurt"
    wijk_rows = _aggregate(rows, "wijk")
    wijk_rows["name"] = wijk_rows["code"].map(world.wijken.set_index("code")["name"])
    wijk_rows["soort"] = "Wijk"
    gm = _aggregate(rows.assign(gm=GEMEENTE), "gm")
    gm["name"], gm["soort"], gm[URBANITY] = NAME, "Gemeente", DEMO_URBANITY
    others = other_gemeenten(gm.iloc[0], [k for k in CBS_KEYS if k not in RATES], RATES, SEED + 5)
    nl = pd.DataFrame([{"code": NATIONAL, "name": "Nederland", "soort": "Land", **NATIONAL_VALUES}])
    return pd.concat([nl, gm, others, wijk_rows, rows.drop(columns="wijk")], ignore_index=True)


def _aggregate(rows: pd.DataFrame, by: str) -> pd.DataFrame:
    counts = [k for k in CBS_KEYS if k not in RATES]
    out = rows.groupby(by)[counts].sum(min_count=1)
    for rate, weight in RATES.items():
        w = rows[weight].where(rows[rate].notna())
        out[rate] = (rows[rate] * w).groupby(rows[by]).sum() / w.groupby(rows[by]).sum()
        out[rate] = out[rate].round(1 if rate == "HuishoudensMetEenLaagInkomen" else 0)
    out["PersonenPerSoortUitkeringBijstand"] = out["PersonenPerSoortUitkeringBijstand"].round(-1)
    return out.reset_index().rename(columns={by: "code"})


def _untyped(value: Any) -> str:
    """A cell as the UntypedDataSet writes it: right-aligned text, ``.`` where CBS has no figure."""
    if value is None or pd.isna(value):
        return f"{'.':>10}"
    number = float(value)
    return f"{int(number) if number.is_integer() else number:>10}"


def _write_cbs_cache(world: World, folder: Path) -> None:
    """cbsodata-shaped responses, cached exactly where ``riskmap load cbs --offline`` looks.

    Like ``cbsodata.download_data(..., typed=True)`` returns them (cbsodata 1.3.x downloads the
    UntypedDataSet for that flag): codes padded to 10 characters, numbers as text, ``.`` for
    the cells CBS does not publish, and the national row ``NL00``.
    """
    rows = _kerncijfers_rows(world)
    table = KERNCIJFERS[YEAR]
    properties: list[dict[str, Any]] = [
        {"odata.type": "Cbs.OData.GeoDetail", "ID": 0, "Position": 0, "ParentID": None,
         "Type": "GeoDetail", "Key": "WijkenEnBuurten", "Title": "Wijken en buurten",
         "Description": "", "MapYear": YEAR},
        {"ID": 1, "Type": "Topic", "Key": "Gemeentenaam_1", "Title": "Gemeentenaam", "Unit": "naam"},
        {"ID": 2, "Type": "Topic", "Key": "SoortRegio_2", "Title": "Soort regio", "Unit": "omschrijving"},
        {"ID": 3, "Type": "Topic", "Key": "Codering_3", "Title": "Codering", "Unit": "code"},
    ]
    keys = {**CBS_KEYS, URBANITY: ("MateVanStedelijkheid_127", "Mate van stedelijkheid", "code")}
    for i, (name, (key, title, unit)) in enumerate(keys.items(), start=4):
        properties.append({"odata.type": "Cbs.OData.Topic", "ID": i, "Position": i,
                           "ParentID": None, "Type": "Topic", "Key": key, "Title": title,
                           "Description": RULES.get(name, ""), "Unit": unit,
                           "Datatype": "Long" if unit in {"aantal", "code"} else "Double"})
    data = []
    for i, row in enumerate(rows.itertuples(index=False)):
        record: dict[str, Any] = {"ID": i, "WijkenEnBuurten": f"{row.code:<10}",
                                  "Gemeentenaam_1": f"{_municipality(row):<40}",
                                  "SoortRegio_2": f"{row.soort:<10}",
                                  "Codering_3": f"{row.code:<10}"}
        record.update({key: _untyped(getattr(row, name)) for name, (key, _, _) in keys.items()})
        data.append(record)
    response = {"TableInfos": [{"ID": 0, "Identifier": table, "Title": f"Kerncijfers wijken en "
                                f"buurten {YEAR}", "Period": str(YEAR), "Catalog": "CBS"}],
                "DataProperties": properties, "CategoryGroups": [], "UntypedDataSet": data,
                "WijkenEnBuurten": _odata_dimension(rows["code"].tolist(), rows["name"].tolist())}
    request = {"catalog": OPEN_CATALOG, "table": table, "filter": kerncijfers_filter(GEMEENTE)}
    write_cache(cache_path(folder, table, request), request, response)
    _write_police_cache(world, folder)


def _municipality(row: Any) -> str:
    """The ``Gemeentenaam`` of a Kerncijfers row: the gemeente the region lies in."""
    if row.code == NATIONAL:
        return "Nederland"
    return str(row.name) if row.soort == "Gemeente" else NAME


def _write_police_cache(world: World, folder: Path) -> None:
    police = world.police.merge(world.buurten[["code", "wijk"]], on="code")
    wijk = police.groupby(["wijk", "year", "soort"], as_index=False)["value"].sum() \
        .rename(columns={"wijk": "code"})
    gm = police.groupby(["year", "soort"], as_index=False)["value"].sum().assign(code=GEMEENTE)
    nl = pd.DataFrame([(NATIONAL, year, soort, value) for year in sorted(police["year"].unique())
                       for soort, value in NATIONAL_POLICE.items()],
                      columns=["code", "year", "soort", "value"])
    rows = pd.concat([nl, gm, wijk, police.drop(columns="wijk")], ignore_index=True)
    soorten = [{"Key": "0.0.0 ", "Title": "Totaal misdrijven"},
               {"Key": "2.6.1 ", "Title": "Drugshandel"}, {"Key": "2.6.2 ", "Title": "Drugssmokkel"}]
    data = [{"ID": i, "SoortMisdrijf": f"{r.soort} ", "WijkenEnBuurten": f"{r.code:<10}",
             "Perioden": f"{r.year}JJ00", "GeregistreerdeMisdrijven_1": _untyped(r.value)}
            for i, r in enumerate(rows.itertuples(index=False))]
    response = {"TableInfos": [{"ID": 0, "Identifier": POLICE_TABLE, "Catalog": "Politie",
                                "Title": "Geregistreerde misdrijven; soort misdrijf, wijk, buurt"}],
                "DataProperties": [{"ID": 0, "Type": "Topic", "Key": "GeregistreerdeMisdrijven_1",
                                    "Title": "Geregistreerde misdrijven", "Unit": "aantal"}],
                "SoortMisdrijf": soorten, "UntypedDataSet": data}
    request = {"catalog": POLICE_CATALOG, "table": POLICE_TABLE, "filter": region_filter(GEMEENTE)}
    write_cache(cache_path(folder, POLICE_TABLE, request), request, response)


def _location(frame: pd.DataFrame, rng: np.random.Generator,
              address_only: float) -> dict[str, Any]:
    """RD coordinates, or (for a share of rows) only the address, as case systems export."""
    blank = rng.random(len(frame)) < address_only
    return {"postcode": frame["postcode"], "huisnummer": frame["huisnummer"],
            "x_rd": frame["x"].round(1).where(~blank, None),
            "y_rd": frame["y"].round(1).where(~blank, None)}


def _write_registers(world: World, folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(SEED + 2)
    ev = world.events
    paths = {}
    m = ev["meldingen"]
    meldingen = pd.DataFrame({"Zaaknummer": [f"MLD-{i:06d}" for i in range(len(m))],
                              "Datum": pd.to_datetime(m["date"]).dt.strftime("%Y-%m-%d"),
                              "Categorie": m["categorie"], "Bron": m["bron"],
                              **_location(m, rng, 0.2), "Omschrijving": "zie zaakdossier"})
    paths["meldingen"] = folder / "meldingen.csv"
    meldingen.to_csv(paths["meldingen"], index=False, encoding="utf-8-sig")
    t = ev["maatregelen"]
    paths["maatregelen"] = folder / "maatregelen.xlsx"
    pd.DataFrame({"Zaaknummer": [f"HH-{i:05d}" for i in range(len(t))],
                  "Datum": pd.to_datetime(t["date"]), "Soort": t["categorie"],
                  "Object": t["object"], **_location(t, rng, 0.0)}).to_excel(
        paths["maatregelen"], index=False, sheet_name="Maatregelen")
    b = ev["bibob"]
    paths["bibob"] = folder / "bibob.csv"
    pd.DataFrame({"Dossiernummer": [f"BIB-{i:04d}" for i in range(len(b))],
                  "Datum": pd.to_datetime(b["date"]).dt.strftime("%d-%m-%Y"),
                  "Soort aanvraag": b["categorie"], "Uitkomst": b["uitkomst"],
                  **_location(b, rng, 0.0)}).to_csv(paths["bibob"], sep=";", index=False,
                                                    encoding="cp1252", decimal=",")
    h = ev["hennep"]
    paths["hennep"] = folder / "hennep.csv"
    pd.DataFrame({"Zaaknummer": [f"HEN-{i:04d}" for i in range(len(h))],
                  "Datum": pd.to_datetime(h["date"]).dt.strftime("%d-%m-%Y"),
                  "Locatie": h["locatie"], "Aantal planten": h["aantal_planten"],
                  **_location(h, rng, 0.1)}).to_csv(paths["hennep"], sep=";", index=False,
                                                    encoding="cp1252", decimal=",")
    c = ev["controles"]
    paths["controles"] = folder / "controles.xlsx"
    pd.DataFrame({"Controlenummer": [f"IC-{i:05d}" for i in range(len(c))],
                  "Datum": pd.to_datetime(c["date"]), "Branche": branch_of(c["sbi"], 2008),
                  "Bevinding": c["bevinding"], "Soort bevinding": c["soort_bevinding"],
                  **_location(c, rng, 0.0)}).to_excel(paths["controles"], index=False,
                                                      sheet_name="Controles")
    return paths
