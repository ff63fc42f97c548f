"""Static maps (matplotlib) for reports and briefings: PNG and PDF.

Each map has a title, a legend, a scale bar, a north arrow, the data date and the marking
"Vertrouwelijk". Only areas are drawn.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from riskmap.maps.classes import classify

CONFIDENTIAL = "Vertrouwelijk"


def _scale_bar(ax: plt.Axes) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    span = x1 - x0
    length = next(v for v in (100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000,
                              100_000) if v >= span / 6)
    x, y = x0 + span * 0.05, y0 + (y1 - y0) * 0.05
    ax.plot([x, x + length], [y, y], color="black", linewidth=3, solid_capstyle="butt")
    label = f"{length // 1000} km" if length >= 1000 else f"{length} m"
    ax.text(x + length / 2, y + (y1 - y0) * 0.015, label, ha="center", va="bottom", fontsize=8)


def _north_arrow(ax: plt.Axes) -> None:
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.85), xycoords="axes fraction",
                ha="center", va="center", fontsize=11, fontweight="bold",
                arrowprops={"facecolor": "black", "width": 4, "headwidth": 10})


def static_map(areas: gpd.GeoDataFrame, column: str, title: str, data_date: str,
               legend_title: str = "Score", outlines: gpd.GeoDataFrame | None = None,
               outline_label: str = "Bedrijventerrein") -> Figure:
    """A choropleth of ``column`` over ``areas`` (EPSG:28992), optionally with outlines."""
    classes = classify(areas[column])
    fig, ax = plt.subplots(figsize=(8.27, 7.2), dpi=120)
    areas.plot(ax=ax, color=classes.colours.loc[areas.index].tolist(), edgecolor="#666",
               linewidth=0.4)
    handles = [Patch(facecolor=c, edgecolor="#666", label=label) for c, label in classes.legend]
    if outlines is not None and not outlines.empty:
        outlines.boundary.plot(ax=ax, color="#1f3a93", linewidth=1.4, linestyle="--")
        handles.append(Patch(facecolor="none", edgecolor="#1f3a93", linestyle="--",
                             label=outline_label))
    ax.legend(handles=handles, title=legend_title, loc="lower right", fontsize=7,
              title_fontsize=8, frameon=True)
    ax.set_axis_off()
    ax.set_aspect("equal")
    _scale_bar(ax)
    _north_arrow(ax)
    ax.set_title(title, fontsize=12, loc="left")
    fig.text(0.01, 0.01, f"Peildatum gegevens: {data_date} · Bron: riskmap", fontsize=7,
             color="#444")
    fig.text(0.99, 0.985, CONFIDENTIAL.upper(), fontsize=10, color="#b00020", ha="right",
             va="top", fontweight="bold")
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    return fig
