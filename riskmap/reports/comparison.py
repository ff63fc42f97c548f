r"""The gemeente against Nederland and against similar gemeenten, for CBS-based indicators.

Similar gemeenten are chosen from CBS's gemeente rows of Kerncijfers wijken en buurten:

- **urbanity**: CBS's *mate van stedelijkheid* (``MateVanStedelijkheid``, classes 1 zeer sterk
  to 5 niet stedelijk, from the address density around each address) must be the gemeente's own
  class; where CBS publishes no class (or it is not loaded), the population density
  (``Bevolkingsdichtheid``, inhabitants per km² land) stands in as a continuous measure;
- **size**: among those, the ``k`` gemeenten nearest in number of inhabitants on a log scale.

Notes
-----
With a class, distance :math:`d = |\ln n_g - \ln n_0|`; without one,
:math:`d = \sqrt{(\ln n_g - \ln n_0)^2 + (\ln \rho_g - \ln \rho_0)^2}` with :math:`n` the number
of inhabitants and :math:`\rho` the population density. Both are ratios, so a log scale treats
"twice as large" the same at every size.

All figures here are CBS's published gemeente figures (public); they pass
:func:`riskmap.indicators.privacy.public_table` like every table that leaves the store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmap.indicators.catalogue import Indicator
from riskmap.indicators.privacy import public_table
from riskmap.indicators.values import measure_values
from riskmap.periods import Period
from riskmap.sources.cbs import NATIONAL
from riskmap.store import Store

log = logging.getLogger(__name__)

URBANITY_VARIABLES = ("MateVanStedelijkheid", "Stedelijkheid")
URBANITY_LABELS = {1: "zeer sterk stedelijk", 2: "sterk stedelijk", 3: "matig stedelijk",
                   4: "weinig stedelijk", 5: "niet stedelijk"}
SIMILAR_COUNT = 10
MIN_SIMILAR = 3


@dataclass
class Comparison:
    """The gemeente, its similar gemeenten and the CBS-based indicators of all of them.

    ``gemeenten`` has ``code, name, inhabitants, urbanity, density, role`` (``eigen``,
    ``vergelijkbaar``, ``Nederland``); ``values`` has ``indicator, code, value``; ``basis`` says
    in Dutch how the group was chosen (or why there is none).
    """

    gemeenten: pd.DataFrame
    values: pd.DataFrame
    basis: str
    year: int | None = None
    notes: list[str] = field(default_factory=list)


def is_cbs_based(indicator: Indicator) -> bool:
    """Whether an indicator is computed from CBS figures only (so it exists for any gemeente)."""
    return indicator.numerator.kind == "cbs" and (
        indicator.denominator is None or indicator.denominator.kind == "cbs")


def gemeente_figures(store: Store, period: Period) -> tuple[pd.DataFrame, int | None]:
    """Inhabitants, urbanity class and population density of every gemeente in the store, from
    the latest CBS year up to the period's year; returns the table and that year."""
    year = store.scalar("SELECT max(year) FROM cbs_values WHERE variable = 'AantalInwoners' "
                        "AND year <= ? AND regexp_full_match(area_code, 'GM[0-9]{4}')",
                        [period.year])
    if year is None:
        return pd.DataFrame(columns=["code", "name", "inhabitants", "urbanity", "density"]), None
    rows = store.query("SELECT area_code AS code, variable, value FROM cbs_values WHERE year = ? "
                       "AND regexp_full_match(area_code, 'GM[0-9]{4}')", [year])
    wide = rows.pivot_table(index="code", columns="variable", values="value", aggfunc="first")
    urbanity = next((wide[v] for v in URBANITY_VARIABLES if v in wide.columns),
                    pd.Series(np.nan, index=wide.index))
    density = wide["Bevolkingsdichtheid"] if "Bevolkingsdichtheid" in wide.columns else (
        wide["AantalInwoners"] / (wide["OppervlakteLand"] / 100)
        if "OppervlakteLand" in wide.columns else pd.Series(np.nan, index=wide.index))
    frame = pd.DataFrame({"code": wide.index, "inhabitants": wide["AantalInwoners"].to_numpy(),
                          "urbanity": urbanity.to_numpy(), "density": density.to_numpy()})
    frame.insert(1, "name", frame["code"].map(region_names(store)))
    return frame.dropna(subset=["inhabitants"]).reset_index(drop=True), int(year)


def region_names(store: Store) -> pd.Series:
    """Names of CBS regions by code: loaded region names, then the project's own areas."""
    names = pd.Series(dtype=object)
    tables = set(store.query("SELECT table_name FROM duckdb_tables()")["table_name"])
    if "region_names" in tables:
        names = store.query("SELECT code, name FROM region_names QUALIFY row_number() OVER "
                            "(PARTITION BY code ORDER BY year DESC) = 1").set_index("code")["name"]
    own = store.query("SELECT code, name FROM areas WHERE level = 'gemeente'")
    return pd.concat([names, own.set_index("code")["name"]]).groupby(level=0).last()


def similar_gemeenten(figures: pd.DataFrame, gemeente: str,
                      k: int = SIMILAR_COUNT) -> tuple[pd.DataFrame, str]:
    """The ``k`` gemeenten most like ``gemeente`` in urbanity and size (see the module notes).

    Returns the chosen rows (nearest first) and a Dutch sentence on how they were chosen.
    """
    own = figures[figures["code"] == gemeente]
    if own.empty:
        return figures.iloc[0:0], (f"Geen vergelijking met vergelijkbare gemeenten: CBS-cijfers "
                                   f"van {gemeente} zelf zijn niet geladen.")
    row = own.iloc[0]
    others = figures[figures["code"] != gemeente].copy()
    size = np.log(others["inhabitants"]) - np.log(row["inhabitants"])
    if pd.notna(row["urbanity"]) and others["urbanity"].notna().any():
        others = others[others["urbanity"] == row["urbanity"]]
        others["distance"] = size.loc[others.index].abs()
        basis = (f"dezelfde mate van stedelijkheid ({URBANITY_LABELS.get(int(row['urbanity']), '')}"
                 f", CBS) en het dichtst bij in aantal inwoners")
    else:
        spread = np.log(others["density"]) - np.log(row["density"])
        others["distance"] = np.sqrt(size**2 + spread**2)
        basis = ("het dichtst bij in aantal inwoners en bevolkingsdichtheid (CBS publiceert hier "
                 "geen mate van stedelijkheid)")
    chosen = others.dropna(subset=["distance"]).sort_values(["distance", "code"]).head(k)
    if len(chosen) < MIN_SIMILAR:
        return chosen.iloc[0:0], (f"Geen vergelijking met vergelijkbare gemeenten: minder dan "
                                  f"{MIN_SIMILAR} gemeenten met CBS-cijfers gevonden.")
    return chosen.reset_index(drop=True), f"De {len(chosen)} gemeenten met {basis}."


def indicator_values(store: Store, indicators: list[Indicator], period: Period,
                     codes: list[str]) -> pd.DataFrame:
    """CBS-based indicators of whole regions (gemeenten, Nederland): ``indicator, code, value``;
    a value whose denominator is below the indicator's minimum is left out."""
    frames = []
    for indicator in indicators:
        numerator = measure_values(store, indicator.numerator, "gemeente", period, None, codes)
        if indicator.denominator is None:
            value = numerator * indicator.scale
        else:
            denominator = measure_values(store, indicator.denominator, "gemeente", period, None,
                                         codes)
            ok = denominator >= max(indicator.min_denominator, 1e-12)
            value = (indicator.scale * numerator / denominator).where(ok)
        frames.append(pd.DataFrame({"indicator": indicator.id, "code": codes,
                                    "value": value.to_numpy(float)}))
    values = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["indicator", "code", "value"])
    return values.dropna(subset=["value"]).reset_index(drop=True)


def compare_gemeente(store: Store, catalogue: list[Indicator], period: Period, gemeente: str,
                     k: int = SIMILAR_COUNT) -> Comparison:
    """The gemeente, Nederland and the similar gemeenten on every CBS-based indicator."""
    figures, year = gemeente_figures(store, period)
    similar, basis = similar_gemeenten(figures, gemeente, k)
    own = figures[figures["code"] == gemeente]
    gemeenten = pd.concat([own.assign(role="eigen"), similar.drop(columns="distance",
                                                                 errors="ignore")
                           .assign(role="vergelijkbaar")], ignore_index=True)
    national = pd.DataFrame([{"code": NATIONAL, "name": "Nederland", "role": "Nederland"}])
    gemeenten = pd.concat([gemeenten, national], ignore_index=True)
    indicators = [i for i in catalogue if is_cbs_based(i)]
    values = indicator_values(store, indicators, period, gemeenten["code"].tolist())
    log.debug("vergelijking %s: %d vergelijkbare gemeenten, %d indicatoren uit CBS-cijfers", gemeente,
             len(similar), values["indicator"].nunique())
    return Comparison(public_table(gemeenten, "vergelijking gemeenten"),
                      public_table(values, "vergelijking indicatoren"), basis, year)
