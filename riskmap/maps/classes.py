"""Map classes and colours shared by interactive and static maps and QGIS styles.

Every palette is colour-blind safe, and each kind of layer has its own, so a hotspot never
looks like a high score: scores in ColorBrewer's sequential YlGnBu, register counts on the
grid in YlOrBr, Gi* hot and cold spots in the ends of ColorBrewer's diverging PuOr-like pair
(dark red and purple), emerging hotspots in the Okabe-Ito qualitative colours (see
:mod:`riskmap.maps.patterns`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmap.fmt import number

# ColorBrewer YlGnBu (5 classes) and YlOrBr (5 classes): sequential, colour-blind safe
PALETTE = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"]
COUNT_PALETTE = ["#ffffd4", "#fed98e", "#fe9929", "#d95f0e", "#993404"]
MISSING_COLOUR = "#d9d9d9"
MISSING_LABEL = "Geen score (te weinig gegevens)"


@dataclass(frozen=True)
class Classes:
    """Class of each value, the colour per value and a legend of (colour, label) pairs."""

    colours: pd.Series
    legend: list[tuple[str, str]]


def _fmt(value: float) -> str:
    return number(value, 0 if abs(value) >= 10 else 1)


def _bins(present: pd.Series, k: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """Upper bounds of the classes and the class of each value.

    Whole numbers (counts) get whole-number bounds, so no class is empty or repeated.
    """
    y, k = present.to_numpy(float), min(k, present.nunique())
    if scheme == "Quantiles":
        bins = quantile_bins(y, k)
        classes = np.searchsorted(bins, y, side="left")
    else:
        import mapclassify  # noqa: PLC0415 - a second of imports (scikit-learn), rarely needed

        with warnings.catch_warnings():
            # ties make mapclassify lower k itself, with a warning; the legend shows the classes
            warnings.simplefilter("ignore", UserWarning)
            classifier = getattr(mapclassify, scheme)(y, k=k)
        bins, classes = np.asarray(classifier.bins, dtype=float), np.asarray(classifier.yb)
    if not np.allclose(present, np.round(present)):
        return bins, classes
    bins = np.unique(np.floor(bins))
    return bins, np.searchsorted(bins, present.to_numpy(), side="left")


def quantile_bins(y: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of ``k`` quantile classes of ``y``, fewer where ties repeat a bound: the
    classes of ``mapclassify.Quantiles``, without importing mapclassify (which takes a second
    of imports for scikit-learn)."""
    step = 100.0 / k
    percents = np.arange(step, 100 + step, step)
    percents[-1] = min(percents[-1], 100.0)
    # linear interpolation written as scipy.stats.scoreatpercentile does, so the bounds are
    # the same to the last bit (numpy's percentile may differ in it)
    ordered = np.sort(y)
    at = percents / 100.0 * (len(ordered) - 1)
    low = np.floor(at).astype(int)
    high = np.minimum(low + 1, len(ordered) - 1)
    below, above = (low + 1) - at, at - low
    exact = at == low
    bounds = np.where(exact, ordered[low],
                      (ordered[low] * below + ordered[high] * above) / (below + above))
    return np.unique(bounds)


def _labels(present: pd.Series, bins: np.ndarray) -> list[str]:
    """Legend labels of classes ending at ``bins``; whole numbers (counts) as ``5``, ``6–9``."""
    if not np.allclose(present, np.round(present)):
        lowers = [present.min(), *bins[:-1]]
        return [f"{_fmt(lo)} – {_fmt(hi)}" for lo, hi in zip(lowers, bins, strict=True)]
    uppers = [int(b) for b in bins]
    lowers = [int(present.min()), *(u + 1 for u in uppers[:-1])]
    return [f"{lo}" if lo == hi else f"{lo}–{hi}" for lo, hi in zip(lowers, uppers, strict=True)]


def _spread(palette: list[str], n: int) -> list[str]:
    """``n`` colours from ``palette``, from its first to its last."""
    return [palette[int(i)] for i in np.linspace(0, len(palette) - 1, n)]


def bins_and_labels(values: pd.Series, palette: list[str] | None = None, k: int = 5,
                    scheme: str = "Quantiles") -> list[tuple[float, float, str, str]]:
    """The classes of :func:`classify` as ``(lower, upper, label, colour)``, lowest first."""
    present = values.dropna().astype(float)
    palette = palette or PALETTE
    if present.nunique() < 2:
        return [(float(v), float(v), _fmt(float(v)), palette[-1]) for v in present.unique()]
    bins, _ = _bins(present, k, scheme)
    lowers = [float(present.min()), *bins[:-1]]
    return list(zip(lowers, bins.tolist(), _labels(present, bins),
                    _spread(palette, len(bins)), strict=True))


def classify(values: pd.Series, k: int = 5, scheme: str = "Quantiles",
             palette: list[str] | None = None) -> Classes:
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
    palette
        Colours from low to high (default :data:`PALETTE`).
    """
    palette = palette or PALETTE
    present = values.dropna().astype(float)
    colours = pd.Series(MISSING_COLOUR, index=values.index, dtype=object)
    legend: list[tuple[str, str]] = []
    if present.nunique() >= 2:
        bins, classes = _bins(present, k, scheme)
        spread = _spread(palette, len(bins))
        colours.loc[present.index] = [spread[int(c)] for c in classes]
        legend += list(zip(spread, _labels(present, bins), strict=True))
    elif len(present):
        colours.loc[present.index] = palette[-1]
        legend.append((palette[-1], _fmt(float(present.iloc[0]))))
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
