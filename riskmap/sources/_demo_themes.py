"""Demo Havenwaard, the parts for the themes witwassen and zorg and for vakantieparken.

Each part draws from its own seeded generator and is added after the rest of the world is built,
so the establishments, addresses and events of the other themes stay as they were. Hidden fields
drive them (no indicator reads these): the main risk field drives the changes of owner, name and
activity between the two KvK extracts; a separate zorg field (a few residential buurten) drives
how zorg establishments behave; each vakantiepark has its own risk, which drives permanent
living, churn, hennep and meldingen on it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from riskmap.sources._demo_world import LAST_PERIOD, quarters_of_demo, sample_points, wijk_shapes

# id, name, wijk suffix, hidden risk
PARKS = [(1, "Recreatiepark De Kreek", "08", 0.85), (2, "Vakantiepark Polderzicht", "07", 0.15),
         (3, "Camping Het Veen", "07", 0.1)]
PARK_SIZE = (520.0, 380.0)
# SBI 2008 codes the demo adds, as the KvK converted them to SBI 2025
SBI2025_EXTRA = {"55201": "55201", "5530": "55300", "88101": "88101", "8899": "88999",
                 "86919": "86999", "87301": "87301", "7022": "70201", "6420": "64210",
                 "6810": "68110", "4511": "47810", "5610": "56111", "5210": "52109",
                 "68203": "68202"}
ZORG_CODES = {"88101": 5, "8899": 4, "86919": 3, "87301": 1}
# nevenactiviteiten of zorg establishments: in a risk branch, or outside care altogether
RISKY_OTHER = ["6810", "4511", "5610", "68203"]
NON_CARE_OTHER = ["7022", "6420"]
ZORG_ANCHOR = (183_400.0, 446_600.0)
ZORG_BUURTEN = 5


def build_parks(terreinen: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The vakantieparken: boxes in the buitengebied, clear of the bedrijventerreinen."""
    shapes = wijk_shapes()
    taken = shapely.union_all(terreinen.geometry.values).buffer(300)
    rows: list[dict[str, Any]] = []
    for park_id, name, suffix, risk in PARKS:
        area = shapes[suffix].buffer(-400).difference(taken)
        while True:
            x, y = sample_points(area, 1, rng)[0]
            shape = box(x - PARK_SIZE[0] / 2, y - PARK_SIZE[1] / 2, x + PARK_SIZE[0] / 2,
                        y + PARK_SIZE[1] / 2)
            if area.contains(shape) and not any(shape.distance(r["geometry"]) < 400 for r in rows):
                break
        rows.append({"id": park_id, "name": name, "risk": risk, "geometry": shape})
    return gpd.GeoDataFrame(rows, crs=terreinen.crs)


def park_addresses(parks: gpd.GeoDataFrame, buurten: gpd.GeoDataFrame,
                   rng: np.random.Generator) -> pd.DataFrame:
    """BAG addresses on the parks: recreation objects (logiesfunctie), some with a woonfunctie
    (more on a risky park), each park with its own postcode area."""
    frames = []
    for i, park in enumerate(parks.itertuples()):
        n = int(rng.integers(90, 140))
        xy = sample_points(park.geometry, n, rng)
        dwelling = rng.random(n) < 0.03 + 0.3 * park.risk
        hit = shapely.STRtree(buurten.geometry.values).query(shapely.points(xy),
                                                           predicate="intersects")
        buurt = np.full(n, None, dtype=object)
        buurt[hit[0]] = buurten["code"].to_numpy()[hit[1]]
        frames.append(pd.DataFrame({
            "buurt": buurt, "wijk": pd.Series(buurt).map(buurten.set_index("code")["wijk"]),
            "x": xy[:, 0], "y": xy[:, 1],
            "gebruiksdoel": np.where(dwelling, "woonfunctie", "logiesfunctie"),
            "oppervlakte": rng.integers(35, 120, n).astype(float),
            "postcode": [f"79{8 + i // 2}{i % 2}{'ABCDEFGHJK'[k // 24]}P" for k in range(n)],
            "huisnummer": [k % 24 + 1 for k in range(n)], "park": park.id, "park_risk": park.risk}))
    return pd.concat(frames, ignore_index=True)


def _dates(first: date, last: date, n: int, rng: np.random.Generator) -> list[date]:
    days = (last - first).days
    return [first + timedelta(days=int(d)) for d in rng.integers(0, max(days, 1), n)]


def park_establishments(addresses: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A few establishments on each park; on a risky park more of them come and go."""
    reference = LAST_PERIOD.end
    rows = []
    for _, group in addresses.groupby("park"):
        risk = float(group["park_risk"].iloc[0])
        n = int(rng.integers(6, 10) + 14 * risk)
        for _ in range(n):
            row = group.iloc[int(rng.integers(len(group)))]
            churn = rng.random() < 0.1 + 0.7 * risk
            start = _dates(reference - timedelta(days=600) if churn else date(2005, 1, 1),
                           reference - timedelta(days=30), 1, rng)[0]
            end = _dates(start + timedelta(days=60), reference, 1, rng)[0] \
                if churn and rng.random() < 0.6 else None
            rows.append({"address": None, "kind": "park", "buurt": row.buurt, "x": row.x,
                         "y": row.y, "postcode": row.postcode, "huisnummer": row.huisnummer,
                         "risk": risk, "sbi": ["55201", "5530", "68203", "5210"][
                             int(rng.choice(4, p=[0.4, 0.2, 0.25, 0.15]))],
                         "start": start, "end": end, "legal_form": "Eenmanszaak", "staff": 1})
    return pd.DataFrame(rows)


def zorg_risk(buurten: gpd.GeoDataFrame) -> np.ndarray:
    """The hidden zorg field: high in the residential buurten nearest :data:`ZORG_ANCHOR`."""
    centroids = np.column_stack([buurten.centroid.x, buurten.centroid.y])
    distance = np.hypot(*(centroids - ZORG_ANCHOR).T)
    homes = (buurten["kind"] == "wonen").to_numpy()
    order = np.argsort(np.where(homes, distance, np.inf))[:ZORG_BUURTEN]
    risk = np.full(len(buurten), 0.1)
    risk[order] = 0.85
    return risk


def zorg_establishments(buurten: gpd.GeoDataFrame, addresses: pd.DataFrame,
                        rng: np.random.Generator) -> pd.DataFrame:
    """Zorg establishments (SBI 86-88) per buurt; where the zorg field is high they have
    nevenactiviteiten in risk branches or outside care, share addresses and live short."""
    reference = LAST_PERIOD.end
    rows = []
    codes, weights = list(ZORG_CODES), np.array(list(ZORG_CODES.values()), float)
    in_buurt = addresses.groupby("buurt").indices  # positions, in order
    # the addresses' columns read by position (a row of the frame at a time cost 0.1 ms)
    x, y = addresses["x"].to_numpy(), addresses["y"].to_numpy()
    postcode, huisnummer = addresses["postcode"].tolist(), addresses["huisnummer"].tolist()
    for buurt in buurten.itertuples():
        if buurt.kind in ("haven", "industrie"):
            continue
        risk = float(buurt.zorg_risk)
        n = int(rng.integers(8, 16) + 14 * (risk > 0.5))
        pool = in_buurt.get(buurt.code, np.zeros(0, dtype=int))
        hub = pool[int(rng.integers(len(pool)))]
        for _ in range(n):
            at = hub if rng.random() < 0.6 * risk else pool[int(rng.integers(len(pool)))]
            short = rng.random() < 0.05 + 0.5 * risk
            start = _dates(reference - timedelta(days=700) if short else date(2008, 1, 1),
                           reference - timedelta(days=60), 1, rng)[0]
            end = _dates(start + timedelta(days=90), min(start + timedelta(days=700), reference),
                         1, rng)[0] if short else None
            other = None
            if rng.random() < 0.05 + 0.6 * risk:
                other = str(rng.choice(RISKY_OTHER if rng.random() < 0.6 else NON_CARE_OTHER))
            elif rng.random() < 0.3:
                other = "8899"
            rows.append({"address": None, "kind": "zorg", "buurt": buurt.code, "x": x[at],
                         "y": y[at], "postcode": postcode[at], "huisnummer": huisnummer[at],
                         "risk": float(buurt.risk), "zorg_risk": risk,
                         "sbi": codes[int(rng.choice(len(codes), p=weights / weights.sum()))],
                         "sbi_other": other, "start": start, "end": end,
                         "legal_form": "Besloten Vennootschap", "staff": int(rng.integers(0, 30))})
    return pd.DataFrame(rows)


def earlier_registration(est: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """How establishments stood in the extract of a year before: for some (more where the
    hidden risk, or for zorg the zorg field, is high) another KvK-nummer (owner), trade name or
    main activity, so that comparing the two extracts shows a change."""
    risk = est["zorg_risk"].fillna(est["risk"]).to_numpy(float) if "zorg_risk" in est \
        else est["risk"].to_numpy(float)
    started = pd.to_datetime(est["start"]).dt.date <= LAST_PERIOD.end.replace(
        year=LAST_PERIOD.end.year - 1)
    changed = started.to_numpy() & (rng.random(len(est)) < 0.01 + 0.3 * risk ** 2)
    kind = rng.integers(0, 3, len(est))
    out = pd.DataFrame({"kvk_before": None, "name_before": None, "sbi_before": None},
                       index=est.index, dtype=object)
    owner = changed & (kind == 0)
    out.loc[owner, "kvk_before"] = [f"{90000000 + i:08d}" for i in np.flatnonzero(owner)]
    name = changed & (kind == 1)
    out.loc[name, "name_before"] = [f"Handelsonderneming {i}" for i in np.flatnonzero(name)]
    activity = changed & (kind == 2)
    out.loc[activity, "sbi_before"] = np.where(est.loc[activity, "sbi"] == "7022", "6201", "7022")
    return out


def park_events(addresses: pd.DataFrame, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Meldingen (permanente bewoning and ondermijning) and hennep on the parks, following each
    park's hidden risk."""
    rates = {"meldingen": (0.4, 3.0), "hennep": (0.08, 3.0)}
    events: dict[str, list[dict[str, object]]] = {k: [] for k in rates}
    categories = ["permanente_bewoning", "drugs", "witwassen", "uitbuiting", "overlast"]
    for period in quarters_of_demo():
        for _, group in addresses.groupby("park"):
            risk = float(group["park_risk"].iloc[0])
            for kind, (base, slope) in rates.items():
                for _ in range(int(rng.poisson(base * len(group) / 100 * np.exp(slope * (risk
                                                                                      - 0.1))))):
                    row = group.iloc[int(rng.integers(len(group)))]
                    event: dict[str, object] = {
                        "date": _dates(period.start, period.end, 1, rng)[0], "x": row.x,
                        "y": row.y, "postcode": row.postcode, "huisnummer": row.huisnummer,
                        "risk": risk}
                    if kind == "meldingen":
                        event["categorie"] = categories[int(rng.choice(5, p=[0.45, 0.25, 0.1,
                                                                             0.1, 0.1]))]
                        event["bron"] = "handhaving"
                    else:
                        event["locatie"] = "woning"
                        event["aantal_planten"] = int(rng.integers(30, 600))
                    events[kind].append(event)
    return {k: pd.DataFrame(v) for k, v in events.items()}
