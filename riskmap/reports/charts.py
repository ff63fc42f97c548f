"""Charts for reports (matplotlib): scores of chosen areas over the last quarters."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
from matplotlib.figure import Figure

from riskmap.maps.static import CONFIDENTIAL

# Okabe-Ito: eight colours told apart with every common colour-vision deficiency; with more
# lines than colours, the marker and line style tell the lines apart as well
COLOURS = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
           "#CC79A7"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
STYLES = ["-", "--", ":", "-."]


def trend_chart(trends: pd.DataFrame, codes: list[str], names: dict[str, str], title: str,
                figsize: tuple[float, float] = (8.0, 4.2)) -> Figure:
    """Overall score per quarter of the areas ``codes``, one labelled line each.

    Parameters
    ----------
    trends
        Long table with ``period, code, score`` (see
        :func:`riskmap.reports.content.trend_scores`).
    codes
        The areas to draw, in legend order.
    names
        Area names by code, for the legend.
    title
        Dutch title above the chart.
    figsize
        Size in inches.
    """
    periods = sorted(trends["period"].unique())
    wide = trends.pivot_table(index="period", columns="code", values="score").reindex(periods)
    fig = Figure(figsize=figsize, dpi=110)
    ax = fig.subplots()
    for i, code in enumerate(c for c in codes if c in wide.columns):
        ax.plot(range(len(periods)), wide[code], marker=MARKERS[i % len(MARKERS)],
                linestyle=STYLES[i // len(COLOURS) % len(STYLES)], linewidth=1.6, markersize=4.5,
                color=COLOURS[i % len(COLOURS)], label=f"{names.get(code, code)} ({code})")
    ax.set_xticks(range(len(periods)), periods)
    ax.set_ylabel("Totaalscore (0–100)")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", color="#ddd", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    ax.set_title(title, fontsize=11, loc="left")
    fig.text(0.99, 0.98, CONFIDENTIAL.upper(), fontsize=8, color="#b00020", ha="right",
             va="top", fontweight="bold")
    fig.tight_layout()
    return fig
