"""Map classes and colours shared by interactive and static maps (mapclassify)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import mapclassify
import numpy as np
import pandas as pd

PALETTE = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
MISSING_COLOUR = "#d9d9d9"
MISSING_LABEL = "Geen score (te weinig gegevens)"


@dataclass(frozen=True)
class Classes:
    """Class of each value, the colour per value and a legend of (colour, label) pairs."""

    colours: pd.Series
    legend: list[tuple[str, str]]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}".replace(".", ",")


def _bins(present: pd.Series, k: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """Upper bounds of the classes and the class of each value.

    Whole numbers (counts) get whole-number bounds, so no class is empty or repeated.
    """
    with warnings.catch_warnings():
        # ties make mapclassify lower k itself, with a warning; the legend shows the classes
        warnings.simplefilter("ignore", UserWarning)
        classifier = getattr(mapclassify, scheme)(present.to_numpy(), k=min(k, present.nunique()))
    bins = np.asarray(classifier.bins, dtype=float)
    if not np.allclose(present, np.round(present)):
        return bins, np.asarray(classifier.yb)
    bins = np.unique(np.floor(bins))
    return bins, np.searchsorted(bins, present.to_numpy(), side="left")


def _labels(present: pd.Series, bins: np.ndarray) -> list[str]:
    """Legend labels of classes ending at ``bins``; whole numbers (counts) as ``5``, ``6–9``."""
    if not np.allclose(present, np.round(present)):
        lowers = [present.min(), *bins[:-1]]
        return [f"{_fmt(lo)} – {_fmt(hi)}" for lo, hi in zip(lowers, bins, strict=True)]
    uppers = [int(b) for b in bins]
    lowers = [int(present.min()), *(u + 1 for u in uppers[:-1])]
    return [f"{lo}" if lo == hi else f"{lo}–{hi}" for lo, hi in zip(lowers, uppers, strict=True)]


def classify(values: pd.Series, k: int = 5, scheme: str = "Quantiles") -> Classes:
    """Classes of a numeric column; missing values are their own class, never binned.

    Parameters
    ----------
    values
        The values to classify (missing values allowed).
    k
        Number of classes (fewer when there are fewer distinct values or ties).
    scheme
        A mapclassify classifier that takes ``k``, e.g. ``{"Quantiles", "NaturalBreaks",
        "EqualInterval"}``.
    """
    present = values.dropna().astype(float)
    colours = pd.Series(MISSING_COLOUR, index=values.index, dtype=object)
    legend: list[tuple[str, str]] = []
    if present.nunique() >= 2:
        bins, classes = _bins(present, k, scheme)
        palette = [PALETTE[int(i)] for i in np.linspace(0, len(PALETTE) - 1, len(bins))]
        colours.loc[present.index] = [palette[int(c)] for c in classes]
        legend += list(zip(palette, _labels(present, bins), strict=True))
    elif len(present):
        colours.loc[present.index] = PALETTE[-1]
        legend.append((PALETTE[-1], _fmt(float(present.iloc[0]))))
    if values.isna().any():
        legend.append((MISSING_COLOUR, MISSING_LABEL))
    return Classes(colours, legend)


def categorical(values: pd.Series, colours: dict[str, str],
                missing_label: str = MISSING_LABEL) -> Classes:
    """Classes of a categorical column with fixed colours, legend in the order of ``colours``.

    Values not in ``colours`` (and missing values) form the missing class, never a category.
    """
    known = values.where(values.isin(list(colours)))
    mapped = known.map(colours).astype(object)
    mapped = mapped.where(known.notna(), MISSING_COLOUR)
    legend = [(colour, label) for label, colour in colours.items() if (values == label).any()]
    if known.isna().any():
        legend.append((MISSING_COLOUR, missing_label))
    return Classes(mapped, legend)
