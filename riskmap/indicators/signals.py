"""Municipal-register measures: events of a kind within a window, per area, in SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from riskmap.indicators.business import CountQuery, count_by_area
from riskmap.periods import Period
from riskmap.store import Store

DEFAULT_WINDOW = 12
FILTERS = ("category", "outcome", "object", "branch", "source")


def events_query(spec: Mapping[str, Any], period: Period, window: int | None) -> CountQuery:
    """The events of ``spec['kind']`` in the window ending at the period's end."""
    first, end = period.window(window or DEFAULT_WINDOW)
    conditions = ["kind = $kind", "date BETWEEN $first AND $end"]
    params: dict[str, Any] = {"kind": spec["kind"], "first": first, "end": end}
    for column in FILTERS:
        if spec.get(column):
            conditions.append(f"{column} IN (SELECT unnest(${column}))")
            params[column] = [str(v) for v in spec[column]]
    return CountQuery("events", tuple(conditions), params)


def events_measure(store: Store, spec: Mapping[str, Any], level: str, period: Period,
                   window: int | None, codes: Sequence[str]) -> pd.Series:
    """Number of events of ``spec['kind']`` per area in the window ending at the period's end."""
    return count_by_area(store, level, events_query(spec, period, window), codes)
