"""Indicator values per area and period: numerator, denominator, value and suppression flags.

Values are computed for every area of a level (latest boundary year). A sensitive indicator
(built from a municipal register, :func:`riskmap.indicators.privacy.is_sensitive`) whose
numerator is below the privacy minimum is flagged ``suppressed`` (reason ``klein aantal``): its
value is used inside the store for scoring, but never shown. Counts from public registers (KvK,
BAG, CBS) are shown whatever their size. A value whose denominator is below the indicator's
minimum is not computed at all (reason ``kleine noemer``). A CBS-based indicator whose variable
the year's CBS table lacks has no values, with the reason ``niet beschikbaar in <jaar>``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from riskmap.fmt import integer
from riskmap.indicators.business import (
    CountQuery,
    addresses_query,
    count_by_area,
    counts_by_levels,
    establishments_query,
)
from riskmap.indicators.catalogue import Indicator, Measure, for_level
from riskmap.indicators.context import (
    area_hectares,
    cbs_key,
    cbs_measure,
    cbs_measures,
    unavailable_year,
    unavailable_years,
)
from riskmap.indicators.privacy import SMALL_COUNT, is_sensitive
from riskmap.indicators.signals import events_query
from riskmap.periods import Period
from riskmap.sources.cbs import NATIONAL
from riskmap.store import Store

log = logging.getLogger(__name__)

SMALL_DENOMINATOR = "kleine noemer"
UNAVAILABLE = "niet beschikbaar in"


def unavailable_reason(indicator: Indicator, absent: Mapping[str, int]) -> str | None:
    """``niet beschikbaar in <jaar>`` when a CBS variable of the indicator is not in the CBS
    table of that year (nor in an earlier loaded one); ``absent`` from
    :func:`~riskmap.indicators.context.unavailable_years`."""
    years = [unavailable_year(m.params, absent)
             for m in (indicator.numerator, indicator.denominator) if m and m.kind == "cbs"]
    found = [y for y in years if y is not None]
    return f"{UNAVAILABLE} {max(found)}" if found else None


def area_codes(store: Store, level: str) -> list[str]:
    """Codes of the areas of ``level`` in the latest boundary year loaded for it."""
    frame = store.query("SELECT code FROM areas WHERE level = ? AND year = "
                        "(SELECT max(year) FROM areas WHERE level = ?) ORDER BY code",
                        [level, level])
    return frame["code"].tolist()


def count_query(measure: Measure, period: Period, window: int | None) -> CountQuery | None:
    """The rows a counting measure counts (``None`` for CBS values and hectares)."""
    params = measure.params
    if measure.kind == "establishments":
        return establishments_query(params["establishments"], period, window)
    if measure.kind == "events":
        return events_query(params["events"], period, window)
    if measure.kind == "addresses":
        return addresses_query(params["addresses"], period)
    return None


def measure_values(store: Store, measure: Measure, level: str, period: Period,
                   window: int | None, codes: Sequence[str],
                   counted: Mapping[str, pd.Series] | None = None) -> pd.Series:
    """Evaluate one measure per area code (counts from ``counted`` where it has them)."""
    if measure.kind == "cbs":
        if counted is not None and cbs_key(measure.params) in counted:
            return counted[cbs_key(measure.params)]
        return cbs_measure(store, measure.params, period, codes)[0]
    query = count_query(measure, period, window)
    if query is None:
        return area_hectares(store, level, codes)
    if counted is not None and query.key() in counted:
        return counted[query.key()]
    return count_by_area(store, level, query, codes)


def measure_counts(store: Store, catalogue: list[Indicator],
                   wanted: Sequence[tuple[Period, str]]) -> dict[tuple[Period, str],
                                                                 dict[str, pd.Series]]:
    """Every count and CBS value the indicators of each (quarter, level) in ``wanted`` need,
    by :meth:`CountQuery.key` and :func:`cbs_key`: the counts of all of them in one query
    per table (:func:`counts_by_levels`)."""
    queries: dict[str, list[CountQuery]] = {}
    cbs: dict[tuple[Period, str], list[Mapping[str, object]]] = {}
    for period, level in wanted:
        indicators = for_level(catalogue, level)
        measures = [(i, m) for i in indicators for m in (i.numerator, i.denominator)
                    if m is not None]
        queries.setdefault(level, []).extend(
            query for i, m in measures if (query := count_query(m, period, i.window)) is not None)
        cbs[(period, level)] = [m.params for _, m in measures if m.kind == "cbs"]
    codes = {level: area_codes(store, level) for level in queries}
    counted = counts_by_levels(store, queries, codes)
    found: dict[tuple[Period, str], dict[str, pd.Series]] = {}
    for period, level in wanted:
        # the keys of counts hold their quarter's dates; those of CBS values do not
        found[(period, level)] = {**counted.get(level, {}),
                                  **cbs_measures(store, cbs[(period, level)], period,
                                                 codes[level])}
    return found


VALUE_COLUMNS = ["area_code", "level", "period", "indicator", "value", "numerator",
                 "denominator", "suppressed", "reason"]


def values_of(store: Store, indicator: Indicator, level: str, period: Period,
              codes: Sequence[str], min_count: int, absent: Mapping[str, int],
              counted: Mapping[str, pd.Series] | None = None) -> dict[str, np.ndarray]:
    """One indicator's ``value, numerator, denominator, suppressed, reason`` for the areas
    ``codes`` of a level, as arrays (``absent``: the CBS variables the period lacks,
    :func:`~riskmap.indicators.context.unavailable_years`)."""
    numerator = measure_values(store, indicator.numerator, level, period, indicator.window, codes,
                               counted).to_numpy(float)
    if indicator.denominator is None:
        denominator = np.full(len(numerator), np.nan)
        value = numerator * indicator.scale
    else:
        denominator = measure_values(store, indicator.denominator, level, period,
                                     indicator.window, codes, counted).to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(denominator > 0, indicator.scale * numerator / denominator, np.nan)
    unavailable = unavailable_reason(indicator, absent)
    with np.errstate(invalid="ignore"):
        small_denominator = (denominator < indicator.min_denominator) & (unavailable is None)
        small_count = is_sensitive(indicator) & (numerator < min_count)
    value[small_denominator] = np.nan
    reason = np.full(len(value), None, dtype=object)
    reason[np.isnan(value)] = unavailable
    reason[small_count] = SMALL_COUNT
    reason[small_denominator] = SMALL_DENOMINATOR
    return {"value": value, "numerator": numerator, "denominator": denominator,
            "suppressed": small_denominator | small_count, "reason": reason}


def indicator_values(store: Store, catalogue: list[Indicator], period: Period, level: str,
                     min_count: int = 5, gemeente: str | None = None,
                     report: bool = True,
                     regions: Mapping[str, Mapping[str, pd.Series]] | None = None,
                     counted: Mapping[str, pd.Series] | None = None) -> pd.DataFrame:
    """All indicator values of one level and period, in long form (``counted``: its
    :func:`measure_counts`, when the caller has them).

    Optional indicators without any value (e.g. a source not loaded) are left out with a log
    line; one whose CBS variable the year's table lacks is kept, its rows saying
    ``niet beschikbaar in <jaar>``. With ``gemeente``, each value also gets its
    index against the gemeente and, for CBS-based indicators, against Nederland
    (:func:`add_indices`; ``regions``: its :func:`region_measures`, when the caller has them).
    Suppressions and CBS variables the year lacks are logged at debug level (the quality
    report and the CBS load say them once); with ``report=False`` (supporting computations
    such as the previous quarter) missing indicators are too.
    """
    codes = area_codes(store, level)
    indicators = for_level(catalogue, level)
    if counted is None:
        counted = measure_counts(store, catalogue, [(period, level)])[(period, level)]
    absent = unavailable_years(store, period)
    kept: list[tuple[str, dict[str, np.ndarray]]] = []
    for indicator in indicators:
        arrays = values_of(store, indicator, level, period, codes, min_count, absent, counted)
        if np.isnan(arrays["value"]).all():
            reasons = [r for r in arrays["reason"] if r is not None]
            if any(r.startswith(UNAVAILABLE) for r in reasons):  # the CBS load has warned already
                log.debug("indicator %s (%s): %s: de CBS-tabel van dat jaar heeft deze variabele niet",
                    indicator.id, level, reasons[0])
            else:
                how = log.warning if report and not indicator.optional else log.debug
                how("indicator %s heeft geen waarden voor %s in %s (bron niet geladen?)",
                    indicator.id, level, period)
                if indicator.optional:
                    continue
        kept.append((indicator.id, arrays))
    if not kept:
        return pd.DataFrame(columns=VALUE_COLUMNS)
    # one frame of all indicators (a frame per indicator, concatenated, made every text
    # column again for each); the area codes and ids repeated by Arrow, as text once each
    # (a Python object per row cost 0.3 s for a national level)
    values = pd.DataFrame({
        "area_code": _repeated(np.asarray(codes, dtype=object), np.tile(np.arange(len(codes)),
                                                                      len(kept))),
        "level": level, "period": str(period),
        "indicator": _repeated(np.array([i for i, _ in kept], dtype=object),
                               np.repeat(np.arange(len(kept)), len(codes))),
        **{column: np.concatenate([arrays[column] for _, arrays in kept])
           for column in VALUE_COLUMNS[4:]}})
    flags = values.loc[values["suppressed"], "reason"].value_counts()
    if not flags.empty:
        log.debug("privacy: %s waarden (%s) in %s niet getoond: %s", integer(flags.sum()), level,
            period, ", ".join(f"{integer(n)} {why}" for why, n in flags.items()))
    return add_indices(store, values, catalogue, period, gemeente, regions) if gemeente \
        else values


def _repeated(texts: np.ndarray, at: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``texts[at]`` as pandas text, taken by Arrow."""
    return pd.array(pa.array(texts, pa.large_string()).take(pa.array(at)), dtype="str")


def scored_indicators(raw: pd.DataFrame, catalogue: list[Indicator]) -> list[str]:
    """The indicators (columns) that enter the scores: an optional one without any value stays
    out, so its weight does not count as missing."""
    optional = {i.id for i in catalogue if i.optional}
    return [c for c in raw.columns if c not in optional or raw[c].notna().any()]


def _cbs_only(indicator: Indicator) -> bool:
    return indicator.numerator.kind == "cbs" and (
        indicator.denominator is None or indicator.denominator.kind == "cbs")


def _reference(store: Store, indicator: Indicator, period: Period, code: str,
               counted: Mapping[str, pd.Series] | None = None) -> float:
    """The indicator for a whole region, from its CBS row ``code`` (its values from ``counted``
    where it has them); NaN for an indicator that is not CBS-based."""
    if not _cbs_only(indicator):
        return float("nan")
    numerator = measure_values(store, indicator.numerator, "gemeente", period, None, [code],
                               counted)
    if indicator.denominator is None:
        return float(numerator.iloc[0] * indicator.scale)
    denominator = measure_values(store, indicator.denominator, "gemeente", period, None, [code],
                                 counted)
    ok = denominator.iloc[0] > 0
    return float(indicator.scale * numerator.iloc[0] / denominator.iloc[0]) if ok else float("nan")


def _area_reference(indicator: Indicator, numerator: np.ndarray,
                    denominator: np.ndarray) -> float:
    """The indicator over all areas of a level together, from its rows' numerators and
    denominators (summed as pandas sums them: numpy's sum of the values present)."""
    if indicator.denominator is None:
        present = ~np.isnan(numerator)
        if not present.any():
            return float("nan")
        return float(np.where(present, numerator, 0.0).sum() / present.sum() * indicator.scale)
    usable = ~np.isnan(numerator) & ~np.isnan(denominator)
    total = denominator[usable].sum()
    return float(indicator.scale * numerator[usable].sum() / total) if total > 0 \
        else float("nan")


def _usable(reference: float) -> bool:
    return bool(np.isfinite(reference) and reference != 0)


def region_measures(store: Store, catalogue: list[Indicator], period: Period,
                    gemeente: str) -> dict[str, dict[str, pd.Series]]:
    """The CBS measures of the catalogue for the gemeente and for Nederland, by code: the
    references of :func:`add_indices`, the same for every level of a quarter."""
    measures = [m.params for i in catalogue for m in (i.numerator, i.denominator)
                if m is not None and m.kind == "cbs"]
    return {code: cbs_measures(store, measures, period, [code]) for code in (gemeente, NATIONAL)}


def add_indices(store: Store, values: pd.DataFrame, catalogue: list[Indicator], period: Period,
                gemeente: str,
                regions: Mapping[str, Mapping[str, pd.Series]] | None = None) -> pd.DataFrame:
    """Each value as an index: gemeente = 100 and, for CBS-based indicators, Nederland = 100.

    The gemeente reference is CBS's own gemeente figure where the indicator is CBS-based and that
    row is loaded, else the indicator over all areas of the level together. The national
    reference is CBS's row for Nederland (:data:`~riskmap.sources.cbs.NATIONAL`); a CBS-based
    indicator with values but without it is named in one warning.
    """
    by_id = {i.id: i for i in catalogue}
    region = regions if regions is not None else region_measures(store, catalogue, period,
                                                                 gemeente)
    without_national = []
    # each indicator's rows as positions in numpy arrays (a frame per indicator cost 0.5 ms);
    # per row, its indicator's references (NaN where none is usable)
    at = values.groupby("indicator").indices
    numerators, denominators, shown = (values[c].to_numpy(float)
                                       for c in ("numerator", "denominator", "value"))
    references, nationals = np.full(len(values), np.nan), np.full(len(values), np.nan)
    for indicator_id in sorted(at):
        rows, indicator = at[indicator_id], by_id[str(indicator_id)]
        own = _reference(store, indicator, period, gemeente, region[gemeente])
        reference = own if np.isfinite(own) else \
            _area_reference(indicator, numerators[rows], denominators[rows])
        national = _reference(store, indicator, period, NATIONAL, region[NATIONAL])
        references[rows] = reference if _usable(reference) else np.nan
        nationals[rows] = national if _usable(national) else np.nan
        if not _usable(national) and _cbs_only(indicator) and not np.isnan(shown[rows]).all():
            without_national.append(indicator.id)
    out = values.copy()
    out["index_gemeente"] = 100 * shown / references
    out["index_nl"] = 100 * shown / nationals
    if without_national:
        log.warning("index Nederland = 100 leeg voor %s: geen landelijke waarde (%s) in CBS-tabel "
                    "%s", ", ".join(without_national), NATIONAL, _tables(store, period))
    return out


def _tables(store: Store, period: Period) -> str:
    tables = store.query("SELECT DISTINCT table_id FROM cbs_values WHERE year <= ? AND value IS "
                         "NOT NULL ORDER BY table_id", [period.year])["table_id"].tolist()
    return ", ".join(tables) or "(geen CBS-tabel geladen)"
