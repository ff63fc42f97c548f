"""Demo Havenwaard: people and dwellings, addresses, establishments and register events.

Each function takes the seeded generator and the geography, and returns plain frames with
coordinates; :mod:`riskmap.sources.demo` writes them to files in the real source formats.
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.sources._demo_world import BASINS, LAST_PERIOD, quarters_of_demo, sample_points

# inhabitants range and establishments range per kind of buurt
SIZES = {"centrum": ((1_800, 3_400), (180, 320)), "wonen": ((1_200, 2_800), (50, 130)),
         "haven": ((150, 600), (120, 220)), "industrie": ((10, 120), (100, 200)),
         "buitengebied": ((250, 700), (25, 60))}
PROFILES = {
    "centrum": {"56101": 8, "56102": 6, "5630": 6, "4771": 8, "4711": 3, "96021": 5, "6920": 4,
                "7022": 5, "6201": 3, "7490": 3, "8559": 2, "4742": 1, "6831": 2},
    "wonen": {"4120": 4, "4321": 5, "4322": 4, "4332": 3, "7022": 8, "6201": 5, "7490": 6,
              "8559": 5, "96021": 3, "8121": 3, "6920": 3, "5320": 1},
    "haven": {"4941": 12, "5210": 8, "5224": 6, "4690": 8, "2511": 4, "4120": 3, "7490": 2},
    "industrie": {"4520": 6, "4511": 3, "2511": 6, "4120": 6, "4690": 6, "4941": 5, "5210": 4,
                  "4532": 3, "4321": 3},
    "buitengebied": {"0111": 6, "0141": 8, "0161": 5, "4120": 2, "4941": 1},
}
RISK_CODES = {
    "centrum": {"96022": 4, "9604": 2, "4742": 3, "56102": 3, "5630": 2, "4779": 3, "66193": 2,
                "9200": 2, "96021": 3},
    "wonen": {"96021": 3, "96022": 3, "68203": 3, "6810": 2, "78201": 3, "4511": 2, "53202": 2},
    "haven": {"5210": 5, "4941": 3, "4511": 3, "4520": 3, "7711": 2, "78201": 2},
    "industrie": {"5210": 5, "4511": 4, "4520": 3, "7711": 3, "4779": 1, "78201": 2},
    "buitengebied": {"5210": 4, "4520": 2, "4511": 2},
}
RISK_BRANCH_CODES = {c for codes in RISK_CODES.values() for c in codes}
# The demo's SBI 2008 codes as the KvK converted them to SBI 2025 on 5-7 September 2025: one
# subclass per code, within Eurostat's class correspondence. Car dealers (4511) split between
# wholesale (46710, every third) and retail (47810), both in the autobranche.
SBI2025_OF = {
    "0111": "01110", "0141": "01411", "0161": "01610", "2511": "25110", "4120": "41000",
    "4321": "43211", "4322": "43221", "4332": "43320", "4511": "47810", "4520": "95311",
    "4532": "47820", "4690": "46901", "4711": "47110", "4742": "47402", "4771": "47711",
    "4779": "47793", "4941": "49410", "5210": "52109", "5224": "52242", "5320": "53201",
    "53202": "53202", "56101": "56111", "56102": "56112", "5630": "56300", "6201": "62100",
    "66193": "66199", "6810": "68110", "68203": "68202", "6831": "68310", "6920": "69201",
    "7022": "70201", "7490": "74990", "7711": "77111", "78201": "78201", "8121": "81210",
    "8559": "85599", "9200": "92000", "96021": "96210", "96022": "96220", "9604": "96230",
}
LEGAL_FORMS = ["Eenmanszaak", "Besloten Vennootschap", "Vennootschap onder firma", "Stichting",
               "Commanditaire vennootschap"]
WORDS = ["Haven", "Kade", "Noord", "Zuid", "Centrum", "Dijk", "Polder", "Molen", "Linde", "Eik",
         "Ster", "Anker", "Baken", "Vuurtoren", "Zeemeeuw", "Ooievaar"]
TRADES = {"56101": "Restaurant", "56102": "Snackbar", "5630": "Café", "96021": "Kapsalon",
          "96022": "Nagelstudio", "4742": "Belwinkel", "5210": "Opslag", "4941": "Transport",
          "4511": "Autohandel", "4520": "Autoservice", "7711": "Autoverhuur", "4779": "Inkoop & Verkoop",
          "66193": "Geldservice", "9200": "Speelhal", "78201": "Uitzendbureau", "68203": "Vastgoed"}


def buurt_statistics(buurten: gpd.GeoDataFrame, risk: np.ndarray,
                     rng: np.random.Generator) -> pd.DataFrame:
    """CBS-like statistics per buurt; deprivation is partly, not wholly, driven by risk."""
    kinds = buurten["kind"].to_numpy()
    pop = np.array([rng.integers(*SIZES[k][0]) for k in kinds])
    deprivation = np.clip(0.25 + 0.45 * risk + 0.2 * rng.standard_normal(len(kinds)), 0, 1)
    households = np.round(pop / rng.uniform(1.9, 2.5, len(kinds))).astype(int)
    dwellings = np.round(households * rng.uniform(1.02, 1.08, len(kinds))).astype(int)
    stats = pd.DataFrame({
        "code": buurten["code"].to_numpy(),
        "AantalInwoners": pop,
        "k_15Tot25Jaar": np.round(pop * (0.10 + 0.07 * deprivation)).astype(int),
        "HuishoudensTotaal": households,
        "Woningvoorraad": dwellings,
        "GemiddeldeWOZWaardeVanWoningen": np.round(430 - 220 * deprivation
                                                   + 25 * rng.standard_normal(len(kinds))),
        "OnbewoondeWoningen": np.round(2 + 7 * deprivation + rng.uniform(0, 1, len(kinds))),
        "InBezitWoningcorporatie": np.round(15 + 35 * deprivation),
        "InBezitOverigeVerhuurders": np.round(8 + 25 * deprivation + 3 * rng.random(len(kinds))),
        "HuishoudensMetEenLaagInkomen": np.round(4 + 16 * deprivation, 1),
        "PersonenPerSoortUitkeringBijstand": np.round(pop * (0.008 + 0.05 * deprivation), -1),
        "OppervlakteLand": np.round(buurten.geometry.area.to_numpy() / 10_000),
    })
    small = stats["HuishoudensTotaal"] < 100  # CBS does not publish income for small buurten
    stats.loc[small, ["HuishoudensMetEenLaagInkomen", "GemiddeldeWOZWaardeVanWoningen"]] = np.nan
    return stats


def _postcodes(buurt_codes: pd.Series, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """A PC4 area per buurt (``7`` + wijk + buurt digit), 24 house numbers per PC6."""
    letters = np.array([a + b for a in "ABCDEGHJKLMNPRSTVWXZ" for b in "ABCDEGHJKLMNPRSTVWXZ"],
                       dtype=object)
    k = buurt_codes.groupby(buurt_codes, sort=False).cumcount().to_numpy()  # rank in its buurt
    pc4 = buurt_codes.map({code: f"7{code[-3]}{code[-2:]}" for code in buurt_codes.unique()})
    # one draw per address, in order (as many draws one by one give the same numbers)
    numbers = k % 24 * 2 + 1 + rng.integers(0, 2, size=len(k))
    return (pc4.to_numpy(object) + letters[k // 24]).tolist(), numbers


def build_addresses(buurten: gpd.GeoDataFrame, terreinen: gpd.GeoDataFrame, stats: pd.DataFrame,
                    n_business: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """BAG-like addresses: dwellings in each buurt, business premises (mostly on terreinen)."""
    bt_union = shapely.union_all(terreinen.geometry.values)
    water = shapely.union_all(BASINS)
    rows = []
    uses = {"centrum": ["winkelfunctie", "kantoorfunctie", "bijeenkomstfunctie"],
            "wonen": ["kantoorfunctie", "winkelfunctie", "industriefunctie"],
            "haven": ["industriefunctie", "kantoorfunctie"],
            "industrie": ["industriefunctie", "kantoorfunctie"],
            "buitengebied": ["industriefunctie", "overige gebruiksfunctie"]}
    for i, buurt in enumerate(buurten.itertuples()):
        land = buurt.geometry.difference(water)
        housing_area = land.difference(bt_union)
        homes = sample_points(housing_area if housing_area.area > 1e4 else land,
                              int(stats["Woningvoorraad"].iloc[i]), rng)
        business_area = land.intersection(bt_union)
        zone = business_area if business_area.area > 2e4 else land
        premises = sample_points(zone, int(n_business[i]), rng)
        # a floor area per dwelling, then a use and a floor area per premises, in that order
        areas = rng.integers(40, 160, size=len(homes)).astype(float)
        rows.append(pd.DataFrame({"buurt": buurt.code, "wijk": buurt.wijk, "x": homes[:, 0],
                                  "y": homes[:, 1], "gebruiksdoel": "woonfunctie",
                                  "oppervlakte": areas}))
        kinds = uses[buurt.kind]
        business = [(kinds[int(rng.integers(len(kinds)))], float(rng.integers(60, 2_500)))
                    for _ in range(len(premises))]
        rows.append(pd.DataFrame({"buurt": buurt.code, "wijk": buurt.wijk, "x": premises[:, 0],
                                  "y": premises[:, 1],
                                  "gebruiksdoel": pd.Series([use for use, _ in business],
                                                            dtype="str"),
                                  "oppervlakte": np.array([area for _, area in business],
                                                          dtype=float)}))
    frame = pd.concat(rows, ignore_index=True)
    frame["postcode"], frame["huisnummer"] = _postcodes(frame["buurt"], rng)
    return frame


def _area_risk(points: pd.DataFrame, buurt_risk: pd.Series, terreinen: gpd.GeoDataFrame) -> np.ndarray:
    risk = buurt_risk.reindex(points["buurt"]).to_numpy(float)
    for terrein in terreinen.itertuples():
        inside = shapely.contains_xy(terrein.geometry, points["x"], points["y"])
        risk = np.where(inside, np.maximum(risk, terrein.risk), risk)
    return risk


def _draw(profile: dict[str, int], n: int, rng: np.random.Generator) -> np.ndarray:
    codes = np.array(list(profile))
    weights = np.array(list(profile.values()), float)
    return codes[rng.choice(len(codes), size=n, p=weights / weights.sum())]


def build_establishments(buurten: gpd.GeoDataFrame, addresses: pd.DataFrame,
                         buurt_risk: pd.Series, terreinen: gpd.GeoDataFrame,
                         rng: np.random.Generator) -> pd.DataFrame:
    """Establishments with SBI, dates, legal form, staff and an address; risk shapes the mix."""
    frames = []
    reference = LAST_PERIOD.end
    labels = addresses.index.to_numpy()
    dwelling = (addresses["gebruiksdoel"] == "woonfunctie").to_numpy()
    in_buurt = addresses.groupby("buurt").indices  # positions, in order
    nowhere = np.array([], dtype=int)
    for buurt in buurten.itertuples():
        here = in_buurt.get(buurt.code, nowhere)
        premises, homes = labels[here[~dwelling[here]]], labels[here[dwelling[here]]]
        n = int(rng.integers(*SIZES[buurt.kind][1]))
        at_home = rng.random(n) < (0.55 if buurt.kind == "wonen" else 0.1)
        pool_b = premises if len(premises) else homes
        chosen = np.where(at_home, rng.choice(homes, n) if len(homes) else
                          rng.choice(pool_b, n), rng.choice(pool_b, n))
        frames.append(pd.DataFrame({"address": chosen, "kind": buurt.kind}))
    est = pd.concat(frames, ignore_index=True)
    place = addresses.loc[est["address"], ["buurt", "x", "y", "postcode", "huisnummer"]]
    est = pd.concat([est, place.reset_index(drop=True)], axis=1)
    risk = _area_risk(est, buurt_risk, terreinen)
    est["risk"] = risk
    sbi = np.empty(len(est), dtype=object)
    for kind, group in est.groupby("kind"):
        idx = group.index.to_numpy()
        normal = _draw(PROFILES[str(kind)], len(idx), rng)
        risky = _draw(RISK_CODES[str(kind)], len(idx), rng)
        sbi[idx] = np.where(rng.random(len(idx)) < 0.12 + 0.5 * risk[idx], risky, normal)
    est["sbi"] = sbi
    in_branch = est["sbi"].isin(RISK_BRANCH_CODES).to_numpy()
    age_years = rng.exponential(9.0 * (1 - 0.6 * risk)) + 0.05
    est["start"] = [reference - timedelta(days=int(d)) for d in np.minimum(age_years, 40) * 365.25]
    hazard = 0.04 + 0.25 * risk * in_branch
    life = rng.exponential(1 / hazard) * 365.25
    end = [s + timedelta(days=int(d)) for s, d in zip(est["start"], life, strict=True)]
    est["end"] = [e if e <= reference else None for e in end]
    legal = rng.choice(len(LEGAL_FORMS), len(est), p=[0.55, 0.3, 0.08, 0.04, 0.03])
    legal = np.where(in_branch & (rng.random(len(est)) < 0.3 * risk), 0, legal)
    est["legal_form"] = [LEGAL_FORMS[i] for i in legal]
    staff = np.where(legal == 0, rng.integers(0, 2, len(est)), rng.integers(1, 40, len(est)))
    no_staff = in_branch & (rng.random(len(est)) < 0.5 * risk)
    est["staff"] = np.where(no_staff, 0, staff)
    _concentrate(est, in_branch, rng)
    est["vestigingsnummer"] = [f"{100000000000 + 7919 * i:012d}" for i in range(len(est))]
    est["kvk_nummer"] = [f"{60000000 + 104729 * (i // 2) % 39999999:08d}" for i in range(len(est))]
    est["handelsnaam"] = [f"{TRADES.get(s, 'Bedrijf')} {WORDS[i % len(WORDS)]} {i % 97}"
                          for i, s in enumerate(est["sbi"])]
    est["sbi2025"] = sbi2025_codes(est["sbi"])
    return est


def sbi2025_codes(codes: pd.Series) -> pd.Series:
    """The demo's SBI 2008 codes as converted to SBI 2025 (see :data:`SBI2025_OF`)."""
    converted = codes.map(SBI2025_OF)
    wholesale = (codes == "4511") & (np.arange(len(codes)) % 3 == 0)
    return converted.where(~wholesale, "46710")


def _concentrate(est: pd.DataFrame, in_branch: np.ndarray,
                 rng: np.random.Generator) -> None:
    """Move some risk-branch establishments in risky areas onto a few shared addresses."""
    movers = in_branch & (rng.random(len(est)) < 0.35 * est["risk"].to_numpy() ** 2)
    for _, group in est[movers].groupby("buurt"):
        hub = group.index[0]
        for column in ("address", "x", "y", "postcode", "huisnummer"):
            est.loc[group.index, column] = est.loc[hub, column]


def _dates_in(period_start: date, n: int, rng: np.random.Generator) -> list[date]:
    return [period_start + timedelta(days=int(d)) for d in rng.integers(0, 90, n)]


EVENT_KINDS = {
    # kind: (base per quarter: intercept, per 1000 inhabitants, per 100 establishments), risk slope
    "meldingen": ((0.2, 0.25, 0.2), 2.5),
    "hennep": ((0.05, 0.08, 0.0), 3.0),
    "maatregelen": ((0.02, 0.04, 0.03), 3.0),
    "bibob": ((0.03, 0.0, 0.06), 2.0),
}
CATEGORIES = {
    "meldingen": (["drugs", "overlast", "adresfraude", "mensenhandel", "illegale_prostitutie",
                   "uitbuiting", "witwassen", "ondermijning_overig"],
                  [0.3, 0.2, 0.15, 0.05, 0.05, 0.05, 0.1, 0.1]),
    "maatregelen": (["damocles_sluiting", "apv_sluiting", "last_onder_dwangsom",
                     "bestuurlijke_boete", "waarschuwing"], [0.35, 0.15, 0.25, 0.1, 0.15]),
    "bibob": (["exploitatievergunning", "alcoholwetvergunning", "omgevingsvergunning",
               "vastgoedtransactie", "subsidie"], [0.4, 0.25, 0.15, 0.15, 0.05]),
}


def build_events(areas: pd.DataFrame, addresses: pd.DataFrame, est: pd.DataFrame,
                 rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Register events over the eight demo quarters, at addresses in each area.

    ``areas`` has one row per buurt and one per bedrijventerrein-in-buurt zone, with columns
    ``buurt, inhabitants, establishments, risk, zone`` (zone: address index array).
    """
    events: dict[str, list[dict[str, object]]] = {k: [] for k in [*EVENT_KINDS, "controles"]}
    places = _Places(addresses)
    for period in quarters_of_demo():
        for area in areas.itertuples():
            for kind, ((a, b, c), slope) in EVENT_KINDS.items():
                lam = (a + b * area.inhabitants / 1000 + c * area.establishments / 100) \
                    * np.exp(slope * (area.risk - 0.1))
                for _ in range(int(rng.poisson(lam))):
                    events[kind].append(_event(kind, period.start, area, places, rng))
        events["controles"] += _controles(period.start, est, rng)
    return {k: pd.DataFrame(v) for k, v in events.items()}


class _Places:
    """The addresses' columns an event takes, by address label (a row at a time from a frame
    is slow: the demo draws thousands)."""

    def __init__(self, addresses: pd.DataFrame) -> None:
        self.position = {label: at for at, label in enumerate(addresses.index)}
        self.columns = {c: addresses[c].to_numpy(dtype=object)
                        for c in ("x", "y", "postcode", "huisnummer", "gebruiksdoel")}

    def row(self, label: object) -> SimpleNamespace:
        at = self.position[label]
        return SimpleNamespace(**{c: values[at] for c, values in self.columns.items()})


def _event(kind: str, start: date, area: object, places: _Places,
           rng: np.random.Generator) -> dict[str, object]:
    zone = area.zone  # type: ignore[attr-defined]
    row = places.row(zone[int(rng.integers(len(zone)))])
    event: dict[str, object] = {"date": _dates_in(start, 1, rng)[0], "x": row.x, "y": row.y,
                                "postcode": row.postcode, "huisnummer": row.huisnummer,
                                "risk": area.risk}  # type: ignore[attr-defined]
    if kind in CATEGORIES:
        values, weights = CATEGORIES[kind]
        event["categorie"] = values[int(rng.choice(len(values), p=weights))]
    if kind == "meldingen":
        event["bron"] = ["MMA", "burger", "politie", "handhaving", "wijkagent"][
            int(rng.choice(5, p=[0.15, 0.35, 0.25, 0.2, 0.05]))]
    elif kind == "maatregelen":
        event["object"] = "woning" if row.gebruiksdoel == "woonfunctie" else "bedrijfspand"
    elif kind == "hennep":
        event["locatie"] = "woning" if row.gebruiksdoel == "woonfunctie" else "bedrijfspand"
        event["aantal_planten"] = int(rng.integers(30, 1_200))
    elif kind == "bibob":
        risk = float(area.risk)  # type: ignore[attr-defined]
        outcomes = ["geen_gevaar", "mindere_mate_gevaar", "ernstig_gevaar", "weigering"]
        p = np.array([0.75 - 0.4 * risk, 0.15, 0.05 + 0.15 * risk, 0.05 + 0.25 * risk])
        event["uitkomst"] = outcomes[int(rng.choice(4, p=p / p.sum()))]
    return event


def _controles(start: date, est: pd.DataFrame, rng: np.random.Generator,
               n: int = 80) -> list[dict[str, object]]:
    """Integrale controles at risk-branch establishments; findings follow the hidden risk."""
    active = est[(est["start"] <= start) & (est["end"].isna() | (est["end"] >= start))]
    branch = active[active["sbi"].isin(RISK_BRANCH_CODES)]
    weights = (0.5 + branch["risk"].to_numpy()) / (0.5 + branch["risk"].to_numpy()).sum()
    picked = branch.iloc[rng.choice(len(branch), size=n, replace=False, p=weights)]
    rows = []
    for item in picked.itertuples():
        found = rng.random() < 0.08 + 0.6 * item.risk
        rows.append({"date": _dates_in(start, 1, rng)[0], "x": item.x, "y": item.y,
                     "postcode": item.postcode, "huisnummer": item.huisnummer,
                     "sbi": item.sbi, "bevinding": "ja" if found else "nee",
                     "soort_bevinding": ["administratief", "brandveiligheid", "illegale_bewoning",
                                         "drugs", "uitbuiting", "witwassen"][
                         int(rng.integers(6))] if found else "", "risk": item.risk})
    return rows
