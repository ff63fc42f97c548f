"""Static maps (matplotlib) for reports and briefings: PNG and PDF.

Each map has a title, a legend, a scale bar, a north arrow, the data date and the marking
"Vertrouwelijk". Only areas are drawn.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import cast

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.path import Path
from matplotlib.transforms import Affine2D, Affine2DBase, ScaledTranslation

from riskmap.maps.classes import MISSING_LABEL, categorical, classify

CONFIDENTIAL = "Vertrouwelijk"
LEGEND_WIDTH = 22  # characters per line of a legend label


def _frame(ax: Axes, bounds: tuple[float, float, float, float]) -> None:
    """Fit the map to ``bounds`` with a margin below it for the scale bar."""
    x0, y0, x1, y1 = bounds
    dx, dy = (x1 - x0) * 0.02, y1 - y0
    ax.set_xlim(x0 - dx, x1 + dx)
    ax.set_ylim(y0 - dy * 0.09, y1 + dy * 0.02)


def polygon_paths(geometries: gpd.GeoSeries) -> list[Path]:
    """One matplotlib path per (multi)polygon: every ring of its parts, holes wound against
    their exterior so that matplotlib (which fills by the nonzero rule) leaves them open."""
    parts, of_geometry = shapely.get_parts(geometries.to_numpy(), return_index=True)
    parts = shapely.orient_polygons(parts)
    rings, of_part = shapely.get_rings(parts, return_index=True)
    coords, of_ring = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    starts = np.flatnonzero(np.r_[True, of_ring[1:] != of_ring[:-1]])
    codes[starts] = Path.MOVETO
    codes[np.r_[starts[1:], len(coords)] - 1] = Path.CLOSEPOLY
    owner = of_geometry[of_part][of_ring]  # the geometry each vertex belongs to
    cuts = np.searchsorted(owner, np.arange(1, len(geometries)))
    return [Path(v, c) for v, c in zip(np.split(coords, cuts), np.split(codes, cuts),
                                        strict=True)]


def draw_polygons(ax: Axes, geometries: gpd.GeoSeries, facecolor: str | list[str],
                  edgecolor: str, linewidth: float, linestyle: str = "-",
                  zorder: float = 1) -> None:
    """Draw polygons as one collection (``facecolor="none"`` draws their outlines only).

    geopandas' ``plot`` would render the whole figure again after each call.
    """
    ax.add_collection(PathCollection(polygon_paths(geometries), facecolors=facecolor,
                                     edgecolors=edgecolor, linewidths=linewidth,
                                     linestyles=linestyle, zorder=zorder))


def _scale_bar(ax: Axes) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    span = x1 - x0
    length = next(v for v in (100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000,
                              100_000) if v >= span / 6)
    x, y = x0 + span * 0.03, y0 + (y1 - y0) * 0.025
    # a black outline with a black and a white half, as on topographic maps
    ax.plot([x, x + length], [y, y], color="black", linewidth=5.5, solid_capstyle="butt")
    ax.plot([x, x + length / 2], [y, y], color="black", linewidth=4, solid_capstyle="butt")
    ax.plot([x + length / 2, x + length], [y, y], color="white", linewidth=4,
            solid_capstyle="butt")
    label = f"{length // 1000} km" if length >= 1000 else f"{length} m"
    ax.text(x + length + span * 0.01, y, label, ha="left", va="center", fontsize=8)


def _north_arrow(ax: Axes) -> None:
    ax.annotate("N", xy=(1.07, 1.0), xytext=(1.07, 0.89), xycoords="axes fraction",
                ha="center", va="center", fontsize=11, fontweight="bold",
                annotation_clip=False,
                arrowprops={"facecolor": "black", "width": 4, "headwidth": 10})


# The legend right of the map, in points from its corner: where matplotlib's own legend puts
# its parts with these sizes (fontsize 8, title 8.5, no frame), laid out by line count instead of
# by measuring every text on every drawing (matplotlib's legend, a third of a map's drawing)
LEGEND_AT = (1.02, 0.82)  # axes fraction
LEGEND_SIZE, LEGEND_TITLE_SIZE = 8.0, 8.5
TEXT_HEIGHT, LINE = 1.075, 1.2  # a line of text, and from line to line, in font sizes
OUTSIDE, PAD, SPACING = 0.5, 0.4, 0.5  # from the corner, around the entries, between them
SWATCH = (2.0, 0.7)  # width and height
GAP = 0.8  # between swatch and label


def draw_legend(ax: Axes, handles: Sequence[Patch], title: str) -> None:
    """A legend of ``handles`` (each a swatch with its label, lines broken at ``\\n``) under
    ``title``, right of the map at :data:`LEGEND_AT` (sizes in :data:`LEGEND_SIZE`)."""
    figure = ax.get_figure()
    assert figure is not None
    # points (x right, y up) from the legend's corner to the screen
    points = (Affine2D().scale(1 / 72) + figure.dpi_scale_trans
              + ScaledTranslation(*LEGEND_AT, cast(Affine2DBase, ax.transAxes)))
    size = LEGEND_SIZE
    x, y = (OUTSIDE + PAD) * size, -(OUTSIDE + PAD) * size

    def tall(text: str, font: float) -> float:
        return TEXT_HEIGHT * font + text.count("\n") * LINE * font

    height = tall(title, LEGEND_TITLE_SIZE)
    ax.text(x, y - height / 2, title, transform=points, fontsize=LEGEND_TITLE_SIZE,
            ha="left", va="center", linespacing=LINE)
    y -= height + SPACING * size
    swatch = (SWATCH[0] * size, SWATCH[1] * size)
    for handle in handles:
        label = str(handle.get_label())
        height = max(tall(label, size), swatch[1])
        middle = y - height / 2
        ax.add_patch(Rectangle((x, middle - swatch[1] / 2), *swatch, transform=points,
                               facecolor=handle.get_facecolor(),
                               edgecolor=handle.get_edgecolor(),
                               linewidth=handle.get_linewidth(),
                               linestyle=handle.get_linestyle(), clip_on=False))
        ax.text(x + swatch[0] + GAP * size, middle, label, transform=points, fontsize=size,
                ha="left", va="center", linespacing=LINE)
        y -= height + SPACING * size


def draw_map(ax: Axes, areas: gpd.GeoDataFrame, column: str, legend_title: str = "Score",
             outlines: gpd.GeoDataFrame | None = None, outline_label: str = "Bedrijventerrein",
             categories: dict[str, str] | None = None,
             background: gpd.GeoDataFrame | None = None, legend: bool = True,
             missing_label: str = MISSING_LABEL, palette: list[str] | None = None,
             extra: Sequence[Patch] = ()) -> None:
    """Draw a choropleth with scale bar, north arrow and (right of the map) legend on ``ax``.

    See :func:`static_map` for the parameters; ``legend=False`` leaves the legend out (for
    small multiples that share one); ``extra`` adds legend entries of what the caller drew
    over the map (e.g. :func:`outline_areas`).
    """
    column_values = areas[column]
    classes = (categorical(column_values, categories, missing_label) if categories
               else classify(column_values, palette=palette))
    ax.set_anchor("W")
    drawn = [frame for frame in (background, areas, outlines) if frame is not None
             and not frame.empty]
    if background is not None and not background.empty:
        draw_polygons(ax, background.geometry, "#f2f2f2", "#bbb", 0.3)
    if not areas.empty:
        draw_polygons(ax, areas.geometry, classes.colours.loc[areas.index].tolist(), "#666", 0.4)
    handles = [Patch(facecolor=c, edgecolor="#666", label=textwrap.fill(label, LEGEND_WIDTH))
               for c, label in classes.legend]
    if outlines is not None and not outlines.empty:
        draw_polygons(ax, outlines.geometry, "none", "#1f3a93", 1.4, "--", zorder=2)
        handles.append(Patch(facecolor="none", edgecolor="#1f3a93", linestyle="--",
                             label=textwrap.fill(outline_label, LEGEND_WIDTH)))
    handles += list(extra)
    if drawn:
        _frame(ax, tuple(gpd.GeoSeries(pd.concat([f.geometry for f in drawn])).total_bounds))
    ax.set_aspect("equal")
    ax.set_axis_off()
    if legend:
        draw_legend(ax, handles, legend_title)
    _scale_bar(ax)
    _north_arrow(ax)


def static_map(areas: gpd.GeoDataFrame, column: str, title: str, data_date: str,
               legend_title: str = "Score", outlines: gpd.GeoDataFrame | None = None,
               outline_label: str = "Bedrijventerrein",
               categories: dict[str, str] | None = None,
               background: gpd.GeoDataFrame | None = None,
               figsize: tuple[float, float] = (8.27, 6.2),
               missing_label: str = MISSING_LABEL) -> Figure:
    """A choropleth of ``column`` over ``areas`` (EPSG:28992) as a figure of its own.

    Parameters
    ----------
    areas
        The areas to colour.
    column
        Numeric column (classified with mapclassify), or categorical with ``categories``
        (value -> colour); missing values are their own class.
    title, data_date
        Title above the map; the date of the data, shown at the bottom.
    legend_title
        Title of the legend.
    outlines
        Areas drawn as dashed outlines on top (e.g. bedrijventerreinen), named
        ``outline_label`` in the legend.
    categories
        Fixed colours of a categorical column.
    background
        Areas drawn in light grey underneath (e.g. all buurten under a few hotspots).
    figsize
        Size in inches.
    missing_label
        Legend label of the areas without a value (categorical maps).
    """
    fig = Figure(figsize=figsize, dpi=120)
    ax = fig.add_axes((0.02, 0.06, 0.70, 0.82))
    draw_map(ax, areas, column, legend_title, outlines, outline_label, categories, background,
             missing_label=missing_label)
    fig.text(0.98, 0.975, CONFIDENTIAL.upper(), fontsize=10, color="#b00020", ha="right",
             va="center", fontweight="bold")
    fig.text(0.02, 0.93, title, fontsize=12, ha="left", va="center")
    fig.text(0.02, 0.02, f"Peildatum gegevens: {data_date} · Bron: riskmap", fontsize=7,
             color="#444")
    return fig


def label_areas(ax: Axes, areas: gpd.GeoDataFrame, labels: dict[str, str],
                size: float = 7.0) -> None:
    """Write ``labels`` (code -> text, e.g. the rank and name of the top areas) on their
    areas, at a point inside each, with a white halo so they read on any colour."""
    for row in areas[areas["code"].isin(list(labels))].itertuples():
        point = row.geometry.representative_point()
        ax.annotate(labels[row.code], (point.x, point.y), ha="center",
                    va="center", fontsize=size, fontweight="bold", color="#111",
                    path_effects=[patheffects.withStroke(linewidth=2.6, foreground="white")],
                    zorder=6)


def outline_areas(ax: Axes, areas: gpd.GeoDataFrame, colours: dict[str, str], column: str,
                  width: float = 2.2) -> list[Patch]:
    """Draw the areas whose ``column`` is a key of ``colours`` as thick outlines in that
    colour (over a choropleth); returns legend handles for the categories drawn."""
    handles = []
    for value, colour in colours.items():
        chosen = areas[areas[column] == value]
        if chosen.empty:
            continue
        draw_polygons(ax, chosen.geometry, "none", colour, width, zorder=5)
        handles.append(Patch(facecolor="none", edgecolor=colour, linewidth=width,
                             label=textwrap.fill(value, LEGEND_WIDTH)))
    return handles
