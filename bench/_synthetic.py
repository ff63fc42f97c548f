"""Synthetic national sources for the benchmark, written in the formats the real loaders read.

Points are drawn inside the real 2014 buurten (or a synthetic grid of the same size where the
shared real data is absent), with a lognormal weight per buurt so that small urban buurten are
dense, as in reality. A small share of rows is imperfect in the ways real exports are: points
in the sea (outside every buurt), swapped x/y, rows with an address but no coordinates.

Files are written with DuckDB's ``COPY`` (fast, parallel); the content is plain ASCII, so the
KvK file is valid cp1252 as the Dutch exports are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.branches import risk_branches
from riskmap.sbi import assigned_codes

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
BUURTEN_FILE = REALDATA / "nl_buurten_2014.gpkg"
N_BUURTEN = 10_416
SEED = 20250930
FIRST_DAY, LAST_DAY = np.datetime64("2023-01-01"), np.datetime64("2024-12-31")
USES = np.array(["woonfunctie", "winkelfunctie", "kantoorfunctie", "industriefunctie",
                 "bijeenkomstfunctie", "logiesfunctie", "overige gebruiksfunctie"])
USE_SHARES = np.array([0.85, 0.04, 0.04, 0.04, 0.015, 0.005, 0.01])
LEGAL_FORMS = np.array(["Eenmanszaak", "Besloten Vennootschap", "Vennootschap onder firma",
                        "Stichting", "Vereniging", "Commanditaire Vennootschap"])
LEGAL_SHARES = np.array([0.55, 0.3, 0.07, 0.04, 0.03, 0.01])
# kind: (share of all events, file, id column, date column, required value columns)
REGISTERS = {
    "meldingen": (0.60, "Zaaknummer", {"Categorie": ["drugs", "mensenhandel", "adresfraude",
                                                     "witwassen", "overlast", "uitbuiting"],
                                       "Bron": ["mma", "burger", "politie", "handhaving"]}),
    "maatregelen": (0.06, "Zaaknummer", {"Soort": ["damocles_sluiting", "apv_sluiting",
                                                   "last_onder_dwangsom", "waarschuwing"],
                                         "Object": ["woning", "lokaal", "bedrijfspand"]}),
    "bibob": (0.04, "Dossiernummer", {"Soort aanvraag": ["exploitatievergunning", "subsidie",
                                                         "omgevingsvergunning"],
                                      "Uitkomst": ["geen_gevaar", "mindere_mate_gevaar",
                                                   "ernstig_gevaar", "weigering"]}),
    "hennep": (0.10, "Zaaknummer", {"Locatie": ["woning", "bedrijfspand", "buitengebied"]}),
    "controles": (0.20, "Controlenummer", {"Branche": ["autobranche", "opslag", "kapsalons",
                                                       "horeca", "transport"],
                                           "Bevinding": ["ja", "nee"]}),
}


@dataclass
class Country:
    """The buurten the benchmark runs on, and where they came from."""

    buurten: gpd.GeoDataFrame  # statcode, statnaam, geometry (EPSG:28992)
    path: Path
    real: bool


def country(folder: Path) -> Country:
    """The real buurten, or a synthetic grid of 10,416 square buurten when they are absent."""
    if BUURTEN_FILE.is_file():
        return Country(gpd.read_file(BUURTEN_FILE, layer="buurten"), BUURTEN_FILE, True)
    print(f"NOTE: {BUURTEN_FILE} is absent: using a synthetic grid of {N_BUURTEN:,} square "
          f"buurten instead (figures are not those of the real buurten)")
    side = 1_700.0
    cols = 112
    i = np.arange(N_BUURTEN)
    x0, y0 = 20_000 + (i % cols) * side, 300_000 + (i // cols) * side
    gemeente = (i // 30) + 1
    codes = [f"BU{g:04d}{(k // 10) % 100:02d}{k % 10:02d}" for g, k in zip(gemeente, i % 30,
                                                                              strict=True)]
    frame = gpd.GeoDataFrame({"statcode": codes, "statnaam": [f"Buurt {k}" for k in i]},
                             geometry=shapely.box(x0, y0, x0 + side, y0 + side), crs="EPSG:28992")
    path = folder / "synthetic_buurten.gpkg"
    frame.to_file(path, layer="buurten", driver="GPKG", engine="pyogrio")
    return Country(frame, path, False)


def points_in(geoms: np.ndarray, weights: np.ndarray, n: int, rng: np.random.Generator,
              outside: float = 0.0005) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points drawn inside ``geoms`` (chosen by ``weights``), a share in the sea."""
    owner = rng.choice(len(geoms), size=n, p=weights / weights.sum())
    bounds = shapely.bounds(geoms)
    x, y = np.empty(n), np.empty(n)
    todo = np.arange(n)
    while todo.size:
        b = bounds[owner[todo]]
        tx = b[:, 0] + rng.random(todo.size) * (b[:, 2] - b[:, 0])
        ty = b[:, 1] + rng.random(todo.size) * (b[:, 3] - b[:, 1])
        ok = shapely.contains_xy(geoms[owner[todo]], tx, ty)
        x[todo[ok]], y[todo[ok]] = tx[ok], ty[ok]
        todo = todo[~ok]
    sea = rng.random(n) < outside
    x[sea], y[sea] = rng.uniform(2_000, 9_000, sea.sum()), rng.uniform(400_000, 500_000, sea.sum())
    return x, y


def buurt_weights(country: Country, rng: np.random.Generator) -> np.ndarray:
    """A lognormal activity weight per buurt."""
    return rng.lognormal(0.0, 1.0, len(country.buurten))


def _copy(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, sql: str, path: Path,
          delimiter: str) -> Path:
    con.register("_frame", frame)
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT csv, HEADER, DELIMITER '{delimiter}')")
    con.unregister("_frame")
    return path


def write_bag(country: Country, n: int, path: Path, seed: int = SEED) -> pd.DataFrame:
    """A BAG-like address file of ``n`` addresses with their nummeraanduiding (16 digits, as
    real extracts have it: gemeente code, object type ``20``, serial); returns ``postcode,
    huisnummer, x, y, use``."""
    rng = np.random.default_rng(seed)
    x, y = points_in(shapely.make_valid(country.buurten.geometry.values),
                     buurt_weights(country, np.random.default_rng(seed)), n, rng)
    i = np.arange(n)
    pc = i // 40
    letters = np.array([chr(65 + a) + chr(65 + b) for a in range(26) for b in range(26)])
    addresses = pd.DataFrame({
        "postcode": pd.Series(1000 + pc // 676).astype(str) + letters[pc % 676],
        "huisnummer": i % 40 + 1, "use": rng.choice(USES, size=n, p=USE_SHARES),
        "area": rng.integers(20, 2_000, size=n), "x": x.round(2), "y": y.round(2), "serial": i + 1})
    with duckdb.connect() as con:
        _copy(con, addresses, "SELECT postcode, huisnummer, NULL AS huisletter, NULL AS toevoeging, "
              "use AS gebruiksdoel, area AS oppervlakte, x AS x_rd, y AS y_rd, "
              "'036320' || lpad(CAST(serial AS VARCHAR), 10, '0') AS nummeraanduiding FROM _frame",
              path, ",")
    return addresses.drop(columns=["area", "serial"])


def _risk_sbi(rng: np.random.Generator, n: int) -> np.ndarray:
    """SBI 2025 codes as the KvK assigns them (subclasses): 15 % in a risk branch."""
    valid = np.array(sorted(assigned_codes(2025)))
    prefixes = [p for b in risk_branches().values() for p in b.prefixes[2025]]
    risky = np.array([c for c in valid if c.startswith(tuple(prefixes))])
    return np.where(rng.random(n) < 0.15, rng.choice(risky, n), rng.choice(valid, n))


def _dates(rng: np.random.Generator, n: int, first: str, last: str) -> np.ndarray:
    lo, hi = np.datetime64(first), np.datetime64(last)
    return lo + rng.integers(0, int((hi - lo).astype(int)) + 1, size=n).astype("timedelta64[D]")


def write_kvk(addresses: pd.DataFrame, n: int, path: Path, seed: int = SEED) -> Path:
    """A KvK extract of ``n`` vestigingen at BAG addresses (``;``, decimal commas, dd-mm-jjjj)."""
    rng = np.random.default_rng(seed + n)
    at = rng.integers(0, len(addresses), size=n)
    a = addresses.iloc[at].reset_index(drop=True)
    start = _dates(rng, n, "1990-01-01", "2024-12-31")
    ends = rng.random(n) < 0.2
    end = start + rng.integers(30, 4_000, size=n).astype("timedelta64[D]")
    x, y = a["x"].to_numpy(), a["y"].to_numpy()
    swap = rng.random(n) < 0.01
    frame = pd.DataFrame({
        "vestigingsnummer": 100_000_000_000 + rng.permutation(n).astype(np.int64) * 7,
        "kvk": 10_000_000 + rng.integers(0, 89_999_999, size=n), "sbi": _risk_sbi(rng, n),
        "start": start, "end": pd.Series(end).where(ends), "form": rng.choice(
            LEGAL_FORMS, size=n, p=LEGAL_SHARES), "staff": rng.geometric(0.45, size=n),
        "postcode": a["postcode"], "huisnummer": a["huisnummer"],
        "x": np.where(swap, y, x), "y": np.where(swap, x, y),
        "no_xy": rng.random(n) < 0.03})
    sql = """SELECT vestigingsnummer AS "Vestigingsnummer", kvk AS "KvK-nummer",
        'Bedrijf ' || vestigingsnummer AS "Handelsnaam", sbi AS "SBI hoofdactiviteit",
        NULL AS "SBI nevenactiviteiten", strftime(start, '%d-%m-%Y') AS "Datum aanvang",
        strftime("end", '%d-%m-%Y') AS "Datum einde", form AS "Rechtsvorm",
        staff AS "Werkzame personen", 'Kadeweg' AS "Straat", postcode AS "Postcode",
        huisnummer AS "Huisnummer", NULL AS "Huisletter", NULL AS "Toevoeging",
        CASE WHEN no_xy THEN NULL ELSE replace(printf('%.1f', x), '.', ',') END AS "X RD",
        CASE WHEN no_xy THEN NULL ELSE replace(printf('%.1f', y), '.', ',') END AS "Y RD"
        FROM _frame"""
    with duckdb.connect() as con:
        return _copy(con, frame, sql, path, ";")


def write_registers(addresses: pd.DataFrame, n: int, folder: Path,
                    seed: int = SEED) -> dict[str, Path]:
    """Register exports (CSV) of ``n`` events in total over the 8 quarters 2023Q1-2024Q4."""
    rng = np.random.default_rng(seed + 2)
    paths = {}
    folder.mkdir(parents=True, exist_ok=True)
    for kind, (share, id_column, columns) in REGISTERS.items():
        m = int(n * share)
        a = addresses.iloc[rng.integers(0, len(addresses), size=m)].reset_index(drop=True)
        frame = pd.DataFrame({id_column: [f"{kind[:3].upper()}-{i:07d}" for i in range(m)],
                              "Datum": pd.Series(_dates(rng, m, "2023-01-01", "2024-12-31"))
                              .dt.strftime("%d-%m-%Y")})
        for column, values in columns.items():
            frame[column] = rng.choice(values, size=m)
        blank = rng.random(m) < 0.1
        frame["Postcode"], frame["Huisnummer"] = a["postcode"], a["huisnummer"]
        frame["X RD"] = a["x"].round(1).astype(str).where(~blank, "")
        frame["Y RD"] = a["y"].round(1).astype(str).where(~blank, "")
        paths[kind] = folder / f"{kind}.csv"
        frame.to_csv(paths[kind], sep=";", index=False)
    return paths


def cbs_values(codes: pd.Series, wijken: pd.Series, year: int, seed: int = SEED) -> pd.DataFrame:
    """CBS-like values per buurt and wijk in long form (``area_code, year, variable, value``)."""
    rng = np.random.default_rng(seed + 3)
    n = len(codes)
    inhabitants = rng.lognormal(6.8, 1.0, n).round()
    dwellings = (inhabitants / rng.uniform(1.8, 2.6, n)).round()
    counts = pd.DataFrame({
        "AantalInwoners": inhabitants, "k_15Tot25Jaar": (inhabitants * rng.uniform(.08, .2, n)).round(),
        "HuishoudensTotaal": (dwellings * rng.uniform(.9, 1.0, n)).round(), "Woningvoorraad": dwellings,
        "PersonenPerSoortUitkeringBijstand": (inhabitants * rng.beta(2, 60, n)).round(-1),
        "Verhuizingen": (inhabitants * rng.uniform(.05, .15, n)).round()})
    rates = pd.DataFrame({
        "GemiddeldeWOZWaardeVanWoningen": rng.lognormal(5.8, 0.3, n).round(),
        "OnbewoondeWoningen": rng.gamma(2.0, 2.0, n).round(), "InBezitOverigeVerhuurders":
        rng.uniform(2, 40, n).round(), "HuishoudensMetEenLaagInkomen": rng.gamma(2, 3.5, n).round(1)})
    buurt = pd.concat([counts, rates], axis=1).assign(area_code=codes.to_numpy())
    wijk_counts = counts.groupby(wijken.to_numpy()).sum()
    weight = counts["Woningvoorraad"].to_numpy()[:, None]
    wijk_rates = (rates * weight).groupby(wijken.to_numpy()).sum() / \
        counts["Woningvoorraad"].groupby(wijken.to_numpy()).sum().to_numpy()[:, None]
    wijk = pd.concat([wijk_counts, wijk_rates.round(1)], axis=1).rename_axis("area_code") \
        .reset_index()
    long = pd.concat([buurt, wijk], ignore_index=True).melt(id_vars="area_code",
                                                             var_name="variable")
    return long.assign(year=year, status=None, table_id="synthetic")


def generate(folder: Path, establishments: list[int], n_addresses: int,
             n_events: int) -> dict[str, object]:
    """Write every source file the benchmark loads; returns their paths and the generation time."""
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    land = country(folder)
    addresses = write_bag(land, n_addresses, folder / "bag_verblijfsobjecten.csv")
    kvk = {n: write_kvk(addresses, n, folder / f"kvk_vestigingen_{n}.csv") for n in establishments}
    registers = write_registers(addresses, n_events, folder / "registers")
    return {"boundaries": str(land.path), "real_buurten": land.real,
            "bag": str(folder / "bag_verblijfsobjecten.csv"),
            "kvk": {str(n): str(p) for n, p in kvk.items()},
            "registers": {k: str(p) for k, p in registers.items()},
            "seconds": round(time.perf_counter() - started, 1)}
