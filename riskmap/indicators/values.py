"""Indicator values per area and period: numerator, denominator, value and suppression flags.

Values are computed for every area of a level (latest boundary year). A count-based indicator
whose numerator is below the privacy minimum is flagged ``suppressed`` (reason ``klein aantal``):
its value is used inside the store for scoring, but never shown. A value whose denominator is
below the indicator's minimum is not computed at all (reason ``kleine noemer``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskmap.fmt import integer
from riskmap.indicators.business import addresses_measure, establishments_measure
from riskmap.indicators.catalogue import Indicator, Measure, for_level
from riskmap.indicators.context import area_hectares, cbs_measure
from riskmap.indicators.signals import events_measure
from riskmap.periods import Period
from riskmap.store import Store

log = logging.getLogger(__name__)

SMALL_COUNT = "klein aantal"
SMALL_DENOMINATOR = "kleine noemer"


def area_codes(store: Store, level: str) -> list[str]:
    """Codes of the areas of ``level`` in the latest boundary year loaded for it."""
    frame = store.query("SELECT code FROM areas WHERE level = ? AND year = "
                        "(SELECT max(year) FROM areas WHERE level = ?) ORDER BY code",
                        [level, level])
    return frame["code"].tolist()


def measure_values(store: Store, measure: Measure, level: str, period: Period,
                   window: int | None, codes: Sequence[str]) -> pd.Series:
    """Evaluate one measure per area code."""
    params = measure.params
    if measure.kind == "cbs":
        return cbs_measure(store, params, period, codes)[0]
    if measure.kind == "establishments":
        return establishments_measure(store, params["establishments"], level, period, window,
                                      codes)
    if measure.kind == "events":
        return events_measure(store, params["events"], level, period, window, codes)
    if measure.kind == "addresses":
        return addresses_measure(store, params["addresses"], level, period, codes)
    return area_hectares(store, level, codes)


def values_of(store: Store, indicator: Indicator, level: str, period: Period,
              codes: Sequence[str], min_count: int) -> pd.DataFrame:
    """One indicator's rows for all areas of a level."""
    numerator = measure_values(store, indicator.numerator, level, period, indicator.window, codes)
    if indicator.denominator is None:
        denominator = pd.Series(np.nan, index=numerator.index)
        value = numerator * indicator.scale
    else:
        denominator = measure_values(store, indicator.denominator, level, period,
                                     indicator.window, codes)
        ok = denominator > 0
        value = (indicator.scale * numerator / denominator).where(ok)
    small_denominator = denominator.notna() & (denominator < indicator.min_denominator)
    value = value.where(~small_denominator)
    small_count = indicator.is_count_based & numerator.notna() & (numerator < min_count)
    reason = pd.Series(None, index=numerator.index, dtype=object)
    reason[small_count] = SMALL_COUNT
    reason[small_denominator] = SMALL_DENOMINATOR
    return pd.DataFrame({
        "area_code": list(codes), "level": level, "period": str(period),
        "indicator": indicator.id, "value": value.to_numpy(float),
        "numerator": numerator.to_numpy(float), "denominator": denominator.to_numpy(float),
        "suppressed": (small_denominator | small_count).to_numpy(bool), "reason": reason.to_numpy(),
    })


def indicator_values(store: Store, catalogue: list[Indicator], period: Period, level: str,
                     min_count: int = 5, gemeente: str | None = None,
                     report: bool = True) -> pd.DataFrame:
    """All indicator values of one level and period, in long form.

    Optional indicators without any value (e.g. a CBS variable not published for this year)
    are left out with a log line. With ``gemeente``, each value also gets its index against the
    gemeente and, for CBS-based indicators, against Nederland (:func:`add_indices`).
    With ``report=False`` (supporting computations such as the previous quarter) missing
    indicators and suppressions are logged at debug level only.
    """
    codes = area_codes(store, level)
    frames = []
    for indicator in for_level(catalogue, level):
        frame = values_of(store, indicator, level, period, codes, min_count)
        if frame["value"].isna().all():
            how = log.warning if report and not indicator.optional else log.debug
            how("indicator %s heeft geen waarden voor %s in %s (bron niet geladen?)", indicator.id,
                level, period)
            if indicator.optional:
                continue
        frames.append(frame)
    if frames:
        flags = pd.concat(frames)["reason"].value_counts()
        if not flags.empty:
            say = log.info if report else log.debug
            say("privacy: %s waarden (%s) in %s niet getoond: %s", integer(flags.sum()), level,
                period, ", ".join(f"{integer(n)} {why}" for why, n in flags.items()))
    if not frames:
        return pd.DataFrame(columns=["area_code", "level", "period", "indicator", "value",
                                     "numerator", "denominator", "suppressed", "reason"])
    values = pd.concat(frames, ignore_index=True)
    return add_indices(store, values, catalogue, period, gemeente) if gemeente else values


def _reference(store: Store, indicator: Indicator, rows: pd.DataFrame, period: Period,
               code: str | None) -> float:
    """The indicator for a whole region: a CBS row (``code``) or the sum over the areas."""
    cbs_only = indicator.numerator.kind == "cbs" and (
        indicator.denominator is None or indicator.denominator.kind == "cbs")
    if code is not None:
        if not cbs_only:
            return float("nan")
        numerator = measure_values(store, indicator.numerator, "gemeente", period, None, [code])
        if indicator.denominator is None:
            return float(numerator.iloc[0] * indicator.scale)
        denominator = measure_values(store, indicator.denominator, "gemeente", period, None, [code])
        ok = denominator.iloc[0] > 0
        return float(indicator.scale * numerator.iloc[0] / denominator.iloc[0]) if ok else float("nan")
    usable = rows["numerator"].notna() & rows["denominator"].notna()
    if indicator.denominator is None:
        return float(rows["numerator"].mean() * indicator.scale)
    total = rows.loc[usable, "denominator"].sum()
    return float(indicator.scale * rows.loc[usable, "numerator"].sum() / total) if total > 0 \
        else float("nan")


def add_indices(store: Store, values: pd.DataFrame, catalogue: list[Indicator], period: Period,
                gemeente: str) -> pd.DataFrame:
    """Each value as an index: gemeente = 100 and, for CBS-based indicators, Nederland = 100.

    The gemeente reference is CBS's own gemeente figure where the indicator is CBS-based and that
    row is loaded, else the indicator over all areas of the level together.
    """
    out = values.copy()
    out["index_gemeente"], out["index_nl"] = np.nan, np.nan
    by_id = {i.id: i for i in catalogue}
    for indicator_id, rows in values.groupby("indicator"):
        indicator = by_id[str(indicator_id)]
        own = _reference(store, indicator, rows, period, gemeente)
        reference = own if np.isfinite(own) else _reference(store, indicator, rows, period, None)
        national = _reference(store, indicator, rows, period, "NL01")
        if reference:
            out.loc[rows.index, "index_gemeente"] = 100 * rows["value"] / reference
        if national:
            out.loc[rows.index, "index_nl"] = 100 * rows["value"] / national
    return out
