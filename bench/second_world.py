"""A second synthetic world on real geometry: the 36 real 2014 buurten of Vlaardingen (GM0622).

Its hidden risk has another shape than the demo's: not a spatial field around a port, but a
*network* of risk-branch establishments (transport, opslag, autobranche, ...) scattered over six
buurten that need not touch, three business areas and three residential ones. Events and the
outcomes of integrale controles follow the establishments' risk. Poverty (low incomes, bijstand,
a migration background outside Europe) is drawn independently of that risk, but meldingen and
hennep in dwellings are more frequent in poorer buurten (more reporting and more small-scale
teelt there), and controles partly follow last quarter's findings (enforcement feedback). So
socio-economic context predicts nothing here that a fair ranking should reward: the bias audit
and the backtest can show it.

Sources are written in the formats the loaders read: the wijk- en buurtkaart and IBIS as
GeoPackages; BAG as NLExtract's ``bagadres-full.csv``; two KvK extracts (``;``, cp1252) as a
gemeente has them, last year's in SBI 2008 and this year's, after the KvK's conversion of
September 2025, in SBI 2025 subclasses derived through the package's official SBI lists and
Eurostat's correspondence; a cbsodata-shaped cache of 85984NED and 47018NED (UntypedDataSet,
CBS's own DataProperties, the national row ``NL00`` and every gemeente with CBS's real 2024
figures where ``../shared/realdata`` has them), keyed on the loaders' filters; register
CSV/XLSX. ``python bench/second_world.py`` loads them with the real loaders, runs the last
quarter as ``riskmap kwartaal --from`` does and prints the figures. Needs
``../shared/realdata``; exits with the reason where it is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.branches import branch_of
from riskmap.demo import REGISTER_KINDS
from riskmap.models.ranking import stored_choice, stored_track_record
from riskmap.periods import Period, quarters
from riskmap.pipeline import run_quarter
from riskmap.project import Project
from riskmap.reports.bias import bias_audit
from riskmap.reports.trust import bias_lines, verdict_lines
from riskmap.sbi import correspondence, sbi_list
from riskmap.sources._cache import cache_path, write_cache
from riskmap.sources.cbs import (
    KERNCIJFERS,
    NATIONAL,
    OPEN_CATALOG,
    POLICE_CATALOG,
    POLICE_TABLE,
    kerncijfers_filter,
    region_filter,
)
from riskmap.sources.demo import CBS_KEYS, NATIONAL_POLICE, NATIONAL_VALUES, write_bagadres

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
GEMEENTE, NAME, YEAR = "GM0622", "Vlaardingen", 2024
FIRST, LAST = Period(2023, 4), Period(2025, 3)
SEED = 622
BUSINESS = {"BU06220403", "BU06220306", "BU06220102", "BU06220304", "BU06220302", "BU06220707"}
OPEN_LAND = {"BU06220801", "BU06220205", "BU06220605"}
CENTRE = {"BU06220103", "BU06220104"}
POOR_WIJKEN = {"WK062202": 0.25, "WK062204": 0.3, "WK062205": 0.2}
TERREINEN = [(622001, "Havengebied Vlaardingen", "Zeehaventerrein",
              ("BU06220403", "BU06220306", "BU06220102")),
             (622002, "Lickebaert-Deltagebied", "Gemengd bedrijfsterrein",
              ("BU06220302", "BU06220304")),
             (622003, "Hoogstraat-Hollerhoek", "Gemengd bedrijfsterrein", ("BU06220707",))]
NORMAL = {"6201": 5, "7022": 6, "4120": 6, "4321": 5, "8559": 4, "6920": 3, "4690": 4,
          "2511": 3, "4771": 4, "56101": 4, "8121": 3}
RISKY = {"5210": 5, "4941": 6, "4511": 4, "4520": 4, "7711": 2, "4779": 2, "96022": 2,
         "96021": 3, "4742": 1, "56102": 2, "78201": 2, "68203": 2}
NETWORK_BRANCHES = ("5210", "4941", "4511", "4520", "7711", "4779", "78201")


def geography() -> gpd.GeoDataFrame:
    """The real buurten of Vlaardingen with their wijk and a kind (business, open land, centre
    or residential)."""
    buurten = gpd.read_file(REALDATA / "nl_buurten_2014.gpkg", layer="buurten")
    buurten = buurten[buurten["statcode"].str.startswith("BU0622")].reset_index(drop=True)
    buurten["code"], buurten["name"] = buurten["statcode"], buurten["statnaam"]
    buurten["wijk"] = "WK" + buurten["code"].str[2:8]
    buurten["kind"] = np.select([buurten["code"].isin(BUSINESS), buurten["code"].isin(OPEN_LAND),
                                 buurten["code"].isin(CENTRE)],
                                ["business", "open", "centre"], "residential")
    buurten["geometry"] = shapely.make_valid(buurten.geometry.values)
    return buurten[["code", "name", "wijk", "kind", "geometry"]]


def _points(shape: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = shape.bounds
    found: list[np.ndarray] = []
    while sum(len(f) for f in found) < n:
        batch = rng.uniform((minx, miny), (maxx, maxy), size=(max(4 * n, 64), 2))
        found.append(batch[shapely.contains_xy(shape, batch[:, 0], batch[:, 1])])
    return np.vstack(found)[:n]


def statistics(buurten: gpd.GeoDataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """CBS-like statistics; poverty depends on the wijk and chance, never on the hidden risk."""
    kind = buurten["kind"].to_numpy()
    low = {"business": 0, "open": 40, "centre": 2200, "residential": 1400}
    high = {"business": 70, "open": 320, "centre": 3800, "residential": 4600}
    pop = 5 * np.round(np.array([rng.integers(low[k], high[k]) for k in kind]) / 5)
    poverty = np.clip(0.2 + buurten["wijk"].map(POOR_WIJKEN).fillna(0).to_numpy()
                      + 0.15 * rng.standard_normal(len(kind)), 0, 1)
    households = np.round(pop / rng.uniform(1.8, 2.4, len(kind)))
    dwellings = np.round(households * rng.uniform(1.01, 1.06, len(kind)))
    bijstand = np.round(pop * (0.01 + 0.07 * poverty), -1)
    stats = pd.DataFrame({
        "code": buurten["code"], "AantalInwoners": pop,
        "k_15Tot25Jaar": np.round(pop * (0.1 + 0.06 * poverty)),
        "HuishoudensTotaal": households, "Woningvoorraad": dwellings,
        "GemiddeldeWOZWaardeVanWoningen": np.round(380 - 200 * poverty
                                                   + 20 * rng.standard_normal(len(kind))),
        "OnbewoondeWoningen": np.round(3 + 6 * poverty + rng.random(len(kind))),
        "InBezitWoningcorporatie": np.round(20 + 50 * poverty),
        "InBezitOverigeVerhuurders": np.round(6 + 18 * poverty + 4 * rng.random(len(kind))),
        "HuishoudensMetEenLaagInkomen": np.round(3 + 18 * poverty, 1),
        "PersonenPerSoortUitkeringBijstand": bijstand,
        "OppervlakteLand": np.round(buurten.geometry.area.to_numpy() / 10_000),
        "BuitenEuropa": 5 * np.round(pop * np.clip(0.05 + 0.45 * poverty
                                                  + 0.05 * rng.standard_normal(len(kind)),
                                                  0.01, 0.8) / 5),
        "poverty": poverty})
    small = stats["HuishoudensTotaal"] < 100
    stats.loc[small, ["HuishoudensMetEenLaagInkomen", "GemiddeldeWOZWaardeVanWoningen"]] = np.nan
    return stats


def addresses(buurten: gpd.GeoDataFrame, stats: pd.DataFrame,
              rng: np.random.Generator) -> pd.DataFrame:
    """BAG-like addresses: dwellings and business premises per buurt."""
    premises = {"business": (250, 450), "open": (10, 30), "centre": (250, 350),
                "residential": (30, 90)}
    frames = []
    for buurt, dwellings in zip(buurten.itertuples(), stats["Woningvoorraad"], strict=True):
        n_business = int(rng.integers(*premises[buurt.kind]))
        for n, use in ((int(dwellings), "woonfunctie"), (n_business, "bedrijf")):
            xy = _points(buurt.geometry, n, rng)
            uses = np.full(n, use, dtype=object) if use == "woonfunctie" else rng.choice(
                ["industriefunctie", "kantoorfunctie", "winkelfunctie"], n)
            frames.append(pd.DataFrame({"buurt": buurt.code, "x": xy[:, 0], "y": xy[:, 1],
                                        "gebruiksdoel": uses}))
    frame = pd.concat(frames, ignore_index=True)
    frame["oppervlakte"] = np.where(frame["gebruiksdoel"] == "woonfunctie",
                                    rng.integers(40, 160, len(frame)),
                                    rng.integers(60, 3000, len(frame)))
    order = frame.groupby("buurt").cumcount()
    digits = frame["buurt"].str[-4:]
    letters = [a + b for a in "ABCDEGHJKLMNPRSTVWXZ" for b in "ABCDEGHJKLMNPRSTVWXZ"]
    frame["postcode"] = "3" + digits.str[1:] + [letters[i // 40] for i in order]
    frame["huisnummer"] = order % 40 + 1
    return frame


def establishments(buurten: gpd.GeoDataFrame, addr: pd.DataFrame,
                   rng: np.random.Generator) -> tuple[pd.DataFrame, list[str]]:
    """Establishments with SBI, dates, legal form, staff and an address; the network members
    (hidden risk 0.8) sit in six buurten: three business areas and three with residents."""
    counts = {"business": (150, 280), "open": (10, 30), "centre": (200, 300),
              "residential": (40, 110)}
    business = list(buurten.loc[buurten["kind"] == "business", "code"])
    living = list(buurten.loc[buurten["kind"] == "residential", "code"])
    network = list(rng.choice(business, 3, replace=False)) + list(rng.choice(living, 3,
                                                                             replace=False))
    rows = []
    for buurt in buurten.itertuples():
        pool = addr.index[(addr["buurt"] == buurt.code)].to_numpy()
        business_pool = addr.index[(addr["buurt"] == buurt.code)
                                   & (addr["gebruiksdoel"] != "woonfunctie")].to_numpy()
        n = int(rng.integers(*counts[buurt.kind]))
        risky_share = 0.45 if buurt.kind == "business" else 0.25
        for _ in range(n):
            profile = RISKY if rng.random() < risky_share else NORMAL
            codes = list(profile)
            sbi = codes[int(rng.choice(len(codes), p=np.array(list(profile.values()))
                                       / sum(profile.values())))]
            home = buurt.kind == "residential" and rng.random() < 0.5
            address = int(rng.choice(pool if home or not len(business_pool) else business_pool))
            member = buurt.code in network and sbi in NETWORK_BRANCHES and rng.random() < 0.55
            rows.append({"address": address, "buurt": buurt.code, "sbi": sbi,
                         "risk": 0.8 if member else 0.06 + 0.04 * (profile is RISKY)})
    est = pd.DataFrame(rows)
    member = est["risk"] > 0.5
    for _, group in est[member].groupby("buurt"):  # a few shared addresses per network buurt
        hubs = group["address"].to_numpy()[: max(1, len(group) // 6)]
        est.loc[group.index, "address"] = rng.choice(hubs, len(group))
    est = est.join(addr[["x", "y", "postcode", "huisnummer"]], on="address")
    reference = LAST.end
    age = np.where(member, rng.exponential(2.0, len(est)), rng.exponential(9.0, len(est)))
    est["start"] = [reference - timedelta(days=int(365.25 * a) + 1) for a in age]
    life = np.where(member, rng.exponential(2.5, len(est)), rng.exponential(25.0, len(est)))
    est["end"] = [s + timedelta(days=int(365.25 * v)) if s + timedelta(days=int(365.25 * v))
                  <= reference else None for s, v in zip(est["start"], life, strict=True)]
    est["legal_form"] = np.where(member & (rng.random(len(est)) < 0.6), "Eenmanszaak",
                                 rng.choice(["Eenmanszaak", "Besloten Vennootschap",
                                             "Vennootschap onder firma"], len(est),
                                            p=[0.55, 0.35, 0.1]))
    est["staff"] = np.where(member & (rng.random(len(est)) < 0.6), 0,
                            rng.integers(1, 30, len(est)))
    est["vestigingsnummer"] = [f"{200000000000 + 7907 * i:012d}" for i in range(len(est))]
    est["kvk_nummer"] = [f"{70000000 + 104723 * i % 29999999:08d}" for i in range(len(est))]
    return est, network


def establishments_on(est: pd.DataFrame, day: date) -> pd.Series:
    """Establishments active on ``day`` per buurt, rounded to fives (CBS's
    ``BedrijfsvestigingenTotaal``)."""
    active = (est["start"] <= day) & (est["end"].isna() | (est["end"] > day))
    return 5 * np.round(est.loc[active].groupby("buurt").size() / 5)


def _on(start: date, rng: np.random.Generator) -> date:
    return start + timedelta(days=int(rng.integers(0, 90)))


def events(est: pd.DataFrame, addr: pd.DataFrame, stats: pd.DataFrame,
           rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Register events per quarter: signals at the network's addresses, background signals
    that follow population and poverty, and controles that partly follow last quarter's
    findings."""
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in ("meldingen", "maatregelen", "bibob",
                                                            "hennep", "controles")}
    poverty = stats.set_index("code")["poverty"]
    homes = addr[addr["gebruiksdoel"] == "woonfunctie"]
    home_weight = (1 + 2.0 * homes["buurt"].map(poverty)).to_numpy()
    home_weight = home_weight / home_weight.sum()
    hit_buurten: set[str] = set()
    for period in quarters(FIRST, LAST):
        active = est[(est["start"] <= period.start) & (est["end"].isna()
                                                       | (est["end"] >= period.start))]
        members = active[active["risk"] > 0.5]
        for kind, rate in (("meldingen", 0.25), ("hennep", 0.05), ("maatregelen", 0.05),
                           ("bibob", 0.05)):
            for row in members.iloc[np.flatnonzero(rng.random(len(members)) < rate)].itertuples():
                out[kind].append({"address": row.address, "date": _on(period.start, rng),
                                  "object": "bedrijfspand"})
        for kind, n in (("meldingen", 45), ("hennep", 4), ("maatregelen", 3)):
            for address in rng.choice(homes.index.to_numpy(), int(rng.poisson(n)), p=home_weight):
                out[kind].append({"address": int(address), "date": _on(period.start, rng),
                                  "object": "woning"})
        risky = active[active["sbi"].isin(list(RISKY))]
        weight = 1 + 3 * risky["buurt"].isin(hit_buurten).to_numpy()
        picked = risky.iloc[rng.choice(len(risky), 60, replace=False, p=weight / weight.sum())]
        found = rng.random(len(picked)) < 0.06 + 0.7 * picked["risk"].to_numpy()
        hit_buurten = set(picked.loc[found, "buurt"])
        for row, hit in zip(picked.itertuples(), found, strict=True):
            out["controles"].append({"address": row.address, "date": _on(period.start, rng),
                                     "sbi": row.sbi, "bevinding": "ja" if hit else "nee"})
    return {k: pd.DataFrame(v).join(addr[["x", "y", "postcode", "huisnummer", "buurt"]],
                                      on="address") for k, v in out.items()}


def police(buurten: gpd.GeoDataFrame, stats: pd.DataFrame, est: pd.DataFrame,
           rng: np.random.Generator) -> pd.DataFrame:
    """Registered crime per buurt and year (police, CBS 47018NED)."""
    members = est[est["risk"] > 0.5].groupby("buurt").size().reindex(buurten["code"]).fillna(0)
    rows = []
    pop, poverty = stats["AantalInwoners"].to_numpy(), stats["poverty"].to_numpy()
    for year in (YEAR - 1, YEAR):
        total = rng.poisson(pop * 0.05 * (1 + poverty) + 5)
        drugs = rng.poisson(pop / 1000 * 0.6 * (1 + poverty) + 0.3 * members.to_numpy())
        for code, t, d in zip(buurten["code"], total, drugs, strict=True):
            rows += [(code, year, "0.0.0", t), (code, year, "2.6.1", d), (code, year, "2.6.2", 0)]
    return pd.DataFrame(rows, columns=["code", "year", "soort", "value"])


# --- writing the sources in the real formats --------------------------------------------------
def write_boundaries(buurten: gpd.GeoDataFrame, stats: pd.DataFrame, path: Path) -> Path:
    """The CBS wijk- en buurtkaart: layers gemeenten, wijken, buurten (real wijk shapes)."""
    wijken = gpd.read_file(REALDATA / "nl_wijken_2014.gpkg", layer="wijken")
    wijken = wijken[wijken["statcode"].str.startswith("WK0622")]
    common = {"gemeentecode": GEMEENTE, "gemeentenaam": NAME, "jaar": YEAR, "water": "NEE"}
    layers = {
        "gemeenten": gpd.GeoDataFrame([common], geometry=[shapely.union_all(
            buurten.geometry.values)], crs="EPSG:28992"),
        "wijken": gpd.GeoDataFrame({"wijkcode": wijken["statcode"], "wijknaam": wijken["statnaam"],
                                    **common}, geometry=wijken.geometry, crs="EPSG:28992"),
        "buurten": gpd.GeoDataFrame({"buurtcode": buurten["code"], "buurtnaam": buurten["name"],
                                     "wijkcode": buurten["wijk"], **common,
                                     "aantal_inwoners": stats["AantalInwoners"].astype(int)},
                                    geometry=buurten.geometry, crs="EPSG:28992")}
    path.unlink(missing_ok=True)
    for name, layer in layers.items():
        layer.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


def write_terreinen(buurten: gpd.GeoDataFrame, path: Path) -> Path:
    """IBIS bedrijventerreinen (RIN_NUMMER, PLAN_NAAM, GEM_CODES, HA_BRUTO, HA_NETTO, WLOC_TYPE)."""
    shapes = [shapely.union_all(buurten.loc[buurten["code"].isin(codes)].geometry.values)
              .buffer(-60) for _, _, _, codes in TERREINEN]
    frame = gpd.GeoDataFrame({
        "RIN_NUMMER": [t[0] for t in TERREINEN], "PLAN_NAAM": [t[1] for t in TERREINEN],
        "GEM_CODES": GEMEENTE[2:], "WLOC_TYPE": [t[2] for t in TERREINEN],
        "HA_BRUTO": [round(s.area / 10_000, 1) for s in shapes],
        "HA_NETTO": [round(s.area / 12_500, 1) for s in shapes]}, geometry=shapes,
        crs="EPSG:28992")
    path.unlink(missing_ok=True)
    frame.to_file(path, layer="bedrijventerreinen", driver="GPKG", engine="pyogrio")
    return path


def sbi2025_of(codes: pd.Series, rng: np.random.Generator) -> pd.Series:
    """Each establishment's SBI 2008 code as the KvK converted it to SBI 2025 (September 2025).

    From the package's official lists and Eurostat's class correspondence
    (:func:`riskmap.sbi.correspondence`, :func:`riskmap.sbi.sbi_list`): the candidates are the
    SBI 2025 subclasses of the classes the 2008 class links to; of those, the ones in the same
    risk branch as the 2008 code (none for a code outside the branches), then the ones of the
    same class number where the class kept it. Which of the remaining candidates a business
    went to depends on what it really does, which the lists cannot tell: one is drawn per
    establishment.
    """
    links = correspondence().groupby("sbi2008")["sbi2025"].apply(list)
    table = sbi_list(2025)
    subclasses = table[table["level"] == "subclass"].groupby("parent")["code"].apply(list)
    choices: dict[str, list[str]] = {}
    for code in codes.unique():
        candidates = pd.Series([s for c in links[code[:4]] for s in subclasses.get(c, [])])
        branch = branch_of(pd.Series([code]), 2008).iloc[0]
        same = candidates[(branch_of(candidates, 2025).fillna("") == (branch or "")).to_numpy()]
        candidates = same if len(same) else candidates
        for digits in (4, 2):  # the same class number, else the same division
            kept = candidates[candidates.str[:digits] == code[:digits]]
            candidates = kept if len(kept) else candidates
        choices[code] = list(candidates)
    return pd.Series([str(rng.choice(choices[c])) for c in codes], index=codes.index)


def _kvk_extract(est: pd.DataFrame, as_of: date, codes: pd.Series) -> pd.DataFrame:
    """The KvK extract taken on ``as_of`` as Dutch Excel exports it (``;``, cp1252, decimal
    commas, dd-mm-jjjj): establishments started by then, their end only where it had passed."""
    end = pd.to_datetime(est["end"])
    frame = pd.DataFrame({
        "Vestigingsnummer": est["vestigingsnummer"], "KvK-nummer": est["kvk_nummer"],
        "Handelsnaam": [f"Bedrijf {i}" for i in range(len(est))],
        "SBI hoofdactiviteit": codes, "SBI nevenactiviteiten": "",
        "Datum aanvang": pd.to_datetime(est["start"]).dt.strftime("%d-%m-%Y"),
        "Datum einde": end.dt.strftime("%d-%m-%Y").where(end.dt.date <= as_of, "").fillna(""),
        "Rechtsvorm": est["legal_form"], "Werkzame personen": est["staff"],
        "Straat": "Havenstraat", "Postcode": est["postcode"], "Huisnummer": est["huisnummer"],
        "Huisletter": "", "Toevoeging": "", "Plaats": NAME,
        "X RD": est["x"].map(lambda v: f"{v:.1f}".replace(".", ",")),
        "Y RD": est["y"].map(lambda v: f"{v:.1f}".replace(".", ","))})
    return frame[(pd.to_datetime(est["start"]).dt.date <= as_of).to_numpy()]


def write_kvk(est: pd.DataFrame, folder: Path, rng: np.random.Generator) -> dict[str, Path]:
    """Two KvK extracts, as a gemeente has them: this year's, taken at the end of the last
    quarter, after the KvK's conversion, in SBI 2025 (``kvk_vestigingen.csv``), and last year's
    in SBI 2008 (``kvk_vestigingen_{year}.csv``)."""
    now = LAST.end
    before = now.replace(year=now.year - 1)
    paths = {"kvk_vorig_jaar": folder / f"kvk_vestigingen_{before.year}.csv",
             "kvk": folder / "kvk_vestigingen.csv"}
    _kvk_extract(est, before, est["sbi"]).to_csv(paths["kvk_vorig_jaar"], sep=";", index=False,
                                                 encoding="cp1252")
    _kvk_extract(est, now, sbi2025_of(est["sbi"], rng)).to_csv(paths["kvk"], sep=";",
                                                              index=False, encoding="cp1252")
    return paths


DENSITY = "Bevolkingsdichtheid_34"
RATES = {"GemiddeldeWOZWaardeVanWoningen": "Woningvoorraad", "OnbewoondeWoningen": "Woningvoorraad",
         "InBezitWoningcorporatie": "Woningvoorraad", "InBezitOverigeVerhuurders": "Woningvoorraad",
         "HuishoudensMetEenLaagInkomen": "HuishoudensTotaal"}


def _cell(value: Any) -> str:
    """A cell as cbsodata's UntypedDataSet has it: right-aligned text, ``.`` for no figure."""
    if value is None or pd.isna(value):
        return f"{'.':>10}"
    number = float(value)
    return f"{int(number) if number.is_integer() else number:>10}"


def _properties(keys: set[str]) -> list[dict[str, Any]]:
    """CBS's own DataProperties of 85984NED (``../shared/realdata``): the region columns, the
    topic groups and the topics in ``keys``, with CBS's titles, units and descriptions (which
    state the publication rules the loader reads)."""
    real = json.loads((REALDATA / "cbs_85984NED_DataProperties.json").read_text("utf-8"))
    regions = {"WijkenEnBuurten", "Gemeentenaam_1", "SoortRegio_2", "Codering_3"}
    return [p for p in real if p["Type"] == "TopicGroup" or p["Key"] in regions | keys]


def _other_gemeenten() -> pd.DataFrame:
    """Every other gemeente's row with CBS's real 2024 figures where ``../shared/realdata``
    has them (inhabitants, dwellings, land area, density); its other cells stay ``.``."""
    real = json.loads((REALDATA / "cbs_85984NED_gm_wk_2024.json").read_text("utf-8"))
    names = gpd.read_file(REALDATA / "nl_gemeenten_2015.gpkg", layer="gemeenten",
                          columns=["statcode", "statnaam"], ignore_geometry=True)
    names = names.set_index("statcode")["statnaam"]
    rows = [{"code": code, "name": names.get(code, code), "soort": "Gemeente",
             **{name: values.get(key) for name, (key, _, _) in CBS_KEYS.items()},
             DENSITY: values.get(DENSITY)}
            for code, values in real.items() if code.startswith("GM") and code != GEMEENTE]
    return pd.DataFrame(rows)


def _aggregate(rows: pd.DataFrame, by: str) -> pd.DataFrame:
    """Counts summed, rates as dwelling- or household-weighted means (as CBS publishes them)."""
    counts = [k for k in CBS_KEYS if k not in RATES]
    out = rows.groupby(by)[counts].sum(min_count=1)
    for rate, base in RATES.items():
        weight = rows[base].where(rows[rate].notna())
        out[rate] = ((rows[rate] * weight).groupby(rows[by]).sum()
                     / weight.groupby(rows[by]).sum()).round(1)
    return out.reset_index().rename(columns={by: "code"})


def kerncijfers_rows(buurten: gpd.GeoDataFrame, stats: pd.DataFrame,
                     establishments: pd.Series) -> pd.DataFrame:
    """The rows of Kerncijfers wijken en buurten: Nederland, every gemeente, the wijken and
    buurten of Vlaardingen (``code, name, soort`` and one column per variable)."""
    frame = stats.drop(columns="poverty").assign(
        name=buurten["name"].to_numpy(), wijk=buurten["wijk"].to_numpy(), soort="Buurt",
        BedrijfsvestigingenTotaal=establishments.reindex(buurten["code"]).fillna(0).to_numpy())
    wijken = gpd.read_file(REALDATA / "nl_wijken_2014.gpkg", layer="wijken",
                           columns=["statcode", "statnaam"], ignore_geometry=True)
    wijk_rows = _aggregate(frame, "wijk").assign(soort="Wijk")
    wijk_rows["name"] = wijk_rows["code"].map(wijken.set_index("statcode")["statnaam"])
    own = _aggregate(frame.assign(gm=GEMEENTE), "gm").assign(name=NAME, soort="Gemeente")
    nl = pd.DataFrame([{"code": NATIONAL, "name": "Nederland", "soort": "Land",
                        **NATIONAL_VALUES}])
    rows = pd.concat([nl, own, _other_gemeenten(), wijk_rows, frame.drop(columns="wijk")],
                     ignore_index=True)
    mine = rows[DENSITY].isna()  # inhabitants per km² land
    rows.loc[mine, DENSITY] = (rows["AantalInwoners"] / (rows["OppervlakteLand"] / 100)).round()
    return rows


def write_cbs(rows: pd.DataFrame, crime: pd.DataFrame, folder: Path) -> None:
    """cbsodata-shaped responses of 85984NED and 47018NED where ``load cbs --offline`` looks:
    the UntypedDataSet (codes padded to 10 characters, numbers as text, ``.`` where CBS has no
    figure) with the national row ``NL00`` and every gemeente, as cbsodata returns it for the
    filters the loaders ask for."""
    keys = {key: name for name, (key, _, _) in CBS_KEYS.items()} | {DENSITY: DENSITY}
    data = []
    for i, row in enumerate(rows.to_dict("records")):
        municipality = row["name"] if row["soort"] in ("Land", "Gemeente") else NAME
        data.append({"ID": i, "WijkenEnBuurten": f"{row['code']:<10}",
                     "Gemeentenaam_1": f"{municipality:<40}",
                     "SoortRegio_2": f"{row['soort']:<10}", "Codering_3": f"{row['code']:<10}",
                     **{key: _cell(row[name]) for key, name in keys.items()}})
    table = KERNCIJFERS[YEAR]
    response = {
        "TableInfos": [{"ID": 0, "Identifier": table, "Title": f"Kerncijfers wijken en buurten "
                        f"{YEAR}", "Period": str(YEAR), "Catalog": "CBS"}],
        "DataProperties": _properties(set(keys)), "CategoryGroups": [], "UntypedDataSet": data,
        "WijkenEnBuurten": [{"Key": f"{r.code:<10}", "Title": r.name, "Description": None,
                             "DetailRegionCode": r.code, "Municipality": NAME}
                            for r in rows.itertuples(index=False)]}
    request = {"catalog": OPEN_CATALOG, "table": table, "filter": kerncijfers_filter(GEMEENTE)}
    write_cache(cache_path(folder, table, request), request, response)
    nl = pd.DataFrame([(NATIONAL, year, soort, value) for year in sorted(crime["year"].unique())
                       for soort, value in NATIONAL_POLICE.items()],
                      columns=["code", "year", "soort", "value"])
    wijk = crime.assign(code="WK" + crime["code"].str[2:8]).groupby(
        ["code", "year", "soort"], as_index=False)["value"].sum()
    gm = crime.groupby(["year", "soort"], as_index=False)["value"].sum().assign(code=GEMEENTE)
    police_response = {
        "TableInfos": [{"ID": 0, "Identifier": POLICE_TABLE, "Catalog": "Politie",
                        "Title": "Geregistreerde misdrijven; soort misdrijf, wijk, buurt"}],
        "DataProperties": [{"ID": 0, "Type": "Topic", "Key": "GeregistreerdeMisdrijven_1",
                            "Title": "Geregistreerde misdrijven", "Unit": "aantal"}],
        "SoortMisdrijf": [{"Key": "0.0.0 ", "Title": "Totaal misdrijven"},
                          {"Key": "2.6.1 ", "Title": "Drugshandel"},
                          {"Key": "2.6.2 ", "Title": "Drugssmokkel"}],
        "UntypedDataSet": [{"ID": i, "SoortMisdrijf": f"{r.soort} ",
                            "WijkenEnBuurten": f"{r.code:<10}", "Perioden": f"{r.year}JJ00",
                            "GeregistreerdeMisdrijven_1": _cell(r.value)}
                           for i, r in enumerate(pd.concat([nl, gm, wijk, crime])
                                                 .itertuples(index=False))]}
    request = {"catalog": POLICE_CATALOG, "table": POLICE_TABLE, "filter": region_filter(GEMEENTE)}
    write_cache(cache_path(folder, POLICE_TABLE, request), request, police_response)


def write_registers(ev: dict[str, pd.DataFrame], folder: Path,
                    rng: np.random.Generator) -> dict[str, Path]:
    """Register exports: meldingen (CSV), maatregelen (XLSX), bibob and hennep (``;`` CSV),
    controles (XLSX)."""
    def place(frame: pd.DataFrame) -> dict[str, Any]:
        return {"postcode": frame["postcode"], "huisnummer": frame["huisnummer"],
                "x_rd": frame["x"].round(1), "y_rd": frame["y"].round(1)}

    def day(frame: pd.DataFrame, fmt: str) -> pd.Series:
        return pd.to_datetime(frame["date"]).dt.strftime(fmt)

    folder.mkdir(parents=True, exist_ok=True)
    m, t, b, h, c = (ev[k] for k in ("meldingen", "maatregelen", "bibob", "hennep", "controles"))
    categories = np.where(rng.random(len(m)) < 0.5, "drugs", rng.choice(
        ["overlast", "adresfraude", "mensenhandel", "uitbuiting", "witwassen"], len(m)))
    paths = {k: folder / f for k, f in (("meldingen", "meldingen.csv"), ("maatregelen",
             "maatregelen.xlsx"), ("bibob", "bibob.csv"), ("hennep", "hennep.csv"),
             ("controles", "controles.xlsx"))}
    pd.DataFrame({"Zaaknummer": [f"M{i:06d}" for i in range(len(m))],
                  "Datum": day(m, "%Y-%m-%d"), "Categorie": categories, "Bron": "burger",
                  **place(m)}).to_csv(paths["meldingen"], index=False, encoding="utf-8-sig")
    pd.DataFrame({"Zaaknummer": [f"T{i:05d}" for i in range(len(t))],
                  "Datum": pd.to_datetime(t["date"]),
                  "Soort": rng.choice(["damocles_sluiting", "last_onder_dwangsom"], len(t)),
                  "Object": t["object"], **place(t)}).to_excel(paths["maatregelen"], index=False)
    pd.DataFrame({"Dossiernummer": [f"B{i:04d}" for i in range(len(b))],
                  "Datum": day(b, "%d-%m-%Y"), "Soort aanvraag": "exploitatievergunning",
                  "Uitkomst": rng.choice(["weigering", "ernstig_gevaar", "geen_gevaar"], len(b)),
                  **place(b)}).to_csv(paths["bibob"], sep=";", index=False, encoding="cp1252")
    pd.DataFrame({"Zaaknummer": [f"H{i:04d}" for i in range(len(h))],
                  "Datum": day(h, "%d-%m-%Y"), "Locatie": h["object"],
                  "Aantal planten": rng.integers(30, 900, len(h)), **place(h)}).to_csv(
        paths["hennep"], sep=";", index=False, encoding="cp1252")
    pd.DataFrame({"Controlenummer": [f"C{i:05d}" for i in range(len(c))],
                  "Datum": pd.to_datetime(c["date"]), "Branche": branch_of(c["sbi"], 2008),
                  "Bevinding": c["bevinding"], **place(c)}).to_excel(paths["controles"],
                                                                     index=False)
    return paths


def write_world(folder: Path, seed: int = SEED) -> tuple[dict[str, Path], pd.DataFrame]:
    """Generate the world and write its sources into ``folder``; returns the paths and the
    hidden risk per buurt (``code, risk``: mean establishment risk; never read by riskmap)."""
    rng = np.random.default_rng(seed)
    buurten = geography()
    stats = statistics(buurten, rng)
    addr = addresses(buurten, stats, rng)
    est, _network = establishments(buurten, addr, rng)
    ev = events(est, addr, stats, rng)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"boundaries": write_boundaries(buurten, stats, folder / f"wijkenbuurten_{YEAR}.gpkg"),
             "bedrijventerreinen": write_terreinen(buurten, folder / "ibis.gpkg"),
             "bag": write_bagadres(addr, addr["buurt"].map(buurten.set_index("code")["name"])
                                   + "straat", GEMEENTE, NAME, folder / "bagadres-full.csv"),
             **write_kvk(est, folder, np.random.default_rng(seed + 1))}
    rows = kerncijfers_rows(buurten, stats, establishments_on(est, date(YEAR, 1, 1)))
    write_cbs(rows, police(buurten, stats, est, rng), folder / "cbs")
    paths.update(write_registers(ev, folder / "registers", rng))
    hidden = est.groupby("buurt")["risk"].mean().rename("risk").rename_axis("code").reset_index()
    return paths, hidden


# --- running the pipeline and printing the figures --------------------------------------------
def run(folder: Path, seed: int = SEED) -> tuple[Project, pd.DataFrame]:
    """Write the world into ``folder/sources``, load it with the real loaders and run the last
    quarter as ``riskmap kwartaal --from`` does (building the three quarters before it, hotspots,
    track record and every output); returns the project and the hidden risk."""
    paths, hidden = write_world(folder / "sources", seed)
    project = Project.init(folder, GEMEENTE, YEAR, naam=NAME, **{"paths.cache": "sources"})
    project.load_boundaries(paths["boundaries"])
    project.load_bedrijventerreinen(paths["bedrijventerreinen"])
    project.load_cbs(YEAR, offline=True)
    project.load_police(offline=True)
    project.load_bag(paths["bag"])
    project.load_kvk(paths["kvk_vorig_jaar"])  # SBI 2008, then this year's (SBI 2025) over it
    project.load_kvk(paths["kvk"])
    for kind in REGISTER_KINDS:
        project.load_register(kind, paths[kind])
    run_quarter(project, LAST, first=LAST - 3)
    return project, hidden


def coverage_figures(project: Project) -> pd.DataFrame:
    """Every buurt with residents or establishments: its score, coverage and note."""
    with project.store(read_only=True) as store:
        return store.query(
            "SELECT s.area_code, a.name, s.score, s.coverage, s.coverage_note, "
            "(SELECT count(*) FROM establishments e WHERE e.buurt = s.area_code AND e.end_date "
            "IS NULL) AS establishments, (SELECT value FROM cbs_values c WHERE c.area_code = "
            "s.area_code AND c.variable = 'AantalInwoners' ORDER BY year DESC LIMIT 1) AS "
            "inhabitants FROM scores s JOIN areas a ON a.code = s.area_code WHERE s.period = ? "
            "AND s.level = 'buurt' AND s.theme = 'totaal' ORDER BY s.area_code", [str(LAST)])


def main() -> None:
    """Build the world in ``bench/.data/second_world`` and print coverage, track record and
    bias figures (with the load average)."""
    if not REALDATA.is_dir():
        print(f"skipped: real reference data not found at {REALDATA}")
        return
    folder = Path(__file__).resolve().parent / ".data" / "second_world"
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    project, hidden = run(folder)
    print(f"second world {NAME} ({GEMEENTE}), built in {time.perf_counter() - started:.0f} s, "
          f"load average {os.getloadavg()[0]:.1f}")
    cover = coverage_figures(project)
    relevant = cover[(cover["inhabitants"].fillna(0) > 0) | (cover["establishments"] > 0)]
    print(f"coverage: {relevant['score'].notna().sum()} of {len(relevant)} buurten with residents "
          f"or establishments scored; unscored with a reason: "
          f"{relevant['score'].isna().sum()}")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 120)
    print(cover[cover["coverage"] < 0.999][["area_code", "name", "score", "coverage_note"]]
          .to_string(index=False))
    with project.store(read_only=True) as store:
        record = stored_track_record(store, LAST)
        choice = stored_choice(store, LAST)
        for column in ("precision_at_k", "auc"):
            print(record.pivot(index="period", columns="method", values=column).round(3)
                  .to_string())
        print("\n".join(verdict_lines(record, choice, 10)))
        audit = bias_audit(store, project.catalogue(), project.config, LAST)
        print(audit.correlations.round(3).to_string(index=False))
        print(audit.poorest.round(3).to_string(index=False))
        print(audit.accuracy.round(3).to_string(index=False))
        print("\n".join(bias_lines(audit, project.config["privacy.min_count"])))
        scores = cover.set_index("area_code")["score"]
    rho = scores.corr(hidden.set_index("code")["risk"], method="spearman")
    print(f"Spearman of the {LAST} score with the hidden risk per buurt: {rho:.2f}")


if __name__ == "__main__":
    sys.exit(main())
