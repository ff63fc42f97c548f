"""All indicator values of a quarter in long form, with their indices (gemeente = 100 and
Nederland = 100), as shown to others: suppressed values and their indices are not shown."""

from __future__ import annotations

import pandas as pd

from riskmap.fmt import number
from riskmap.indicators.catalogue import THEME_LABELS, Indicator
from riskmap.indicators.privacy import NOT_SHOWN, PROTECTION, SMALL_COUNT, SMALL_GROUP, threshold
from riskmap.indicators.values import SMALL_DENOMINATOR, UNAVAILABLE
from riskmap.periods import Period
from riskmap.reports.tables import LEVEL_LABELS
from riskmap.store import Store

REMARKS = {SMALL_COUNT: "niet getoond: aantal kleiner dan {n}",
           SMALL_GROUP: "niet getoond: gaat over minder dan {n} adressen of vestigingen",
           PROTECTION: "niet getoond: zou een klein aantal elders verraden",
           SMALL_DENOMINATOR: "niet berekend: noemer te klein"}


def _number(value: float, decimals: int = 1) -> str:
    return NOT_SHOWN if pd.isna(value) else number(value, decimals)


def indicator_table(store: Store, period: Period, catalogue: list[Indicator],
                    min_count: int) -> pd.DataFrame:
    """One row per area and indicator: value, unit, indices and a remark (Dutch headers)."""
    values = store.query(
        "SELECT v.*, a.name FROM indicator_values v JOIN areas a ON a.code = v.area_code "
        "WHERE v.period = ? QUALIFY row_number() OVER (PARTITION BY v.area_code, v.indicator "
        "ORDER BY a.year DESC) = 1 ORDER BY v.level, v.area_code, v.indicator", [str(period)])
    by_id = {i.id: i for i in catalogue}
    hidden = values["suppressed"].astype(bool)
    remark = values["reason"].map(
        lambda r: REMARKS[r].format(n=threshold(min_count)) if r in REMARKS else
        f"{r}: niet in de CBS-tabel van dat jaar" if str(r).startswith(UNAVAILABLE) else "")
    return pd.DataFrame({
        "Niveau": values["level"].map(LEVEL_LABELS), "Code": values["area_code"],
        "Naam": values["name"], "Indicator": values["indicator"].map(lambda i: by_id[i].label),
        "Thema": values["indicator"].map(lambda i: THEME_LABELS[by_id[i].themes[0]]),
        "Waarde": [NOT_SHOWN if h else _number(v) for v, h in zip(values["value"], hidden, strict=True)],
        "Eenheid": values["indicator"].map(lambda i: by_id[i].unit),
        "Index (gemeente = 100)": [NOT_SHOWN if h else _number(v, 0)
                                   for v, h in zip(values["index_gemeente"], hidden, strict=True)],
        "Index (Nederland = 100)": [NOT_SHOWN if h else _number(v, 0)
                                    for v, h in zip(values["index_nl"], hidden, strict=True)],
        "Opmerking": remark,
    })
