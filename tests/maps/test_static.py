"""Static maps: every map carries title, legend, scale bar, north arrow, data date and marking."""

from __future__ import annotations

from itertools import pairwise

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.path import Path
from shapely.geometry import MultiPolygon, Polygon

from riskmap.errors import PrivacyError
from riskmap.indicators.privacy import Guard, figure_text, write_figure
from riskmap.maps.static import draw_polygons, polygon_paths, static_map

RING = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (3, 1), (3, 3), (1, 3)]])
ISLANDS = MultiPolygon([Polygon([(5, 0), (6, 0), (6, 1), (5, 1)]),
                        Polygon([(7, 0), (8, 0), (8, 1), (7, 1)])])


def test_each_area_is_one_path_with_its_holes_and_parts():
    ring, missing, islands = polygon_paths(gpd.GeoSeries([RING, None, ISLANDS]))
    assert list(ring.codes).count(Path.MOVETO) == 2 and len(ring.vertices) == 10
    assert list(islands.codes).count(Path.MOVETO) == 2
    assert len(missing.vertices) == 0


def test_areas_are_painted_in_their_own_colour_and_holes_stay_open():
    figure = plt.figure(figsize=(4, 2), dpi=50)
    ax = figure.add_axes((0, 0, 1, 1))
    draw_polygons(ax, gpd.GeoSeries([RING, ISLANDS]), ["#ff0000", "#0000ff"], "#ff0000", 0)
    ax.set_xlim(0, 8)
    ax.set_ylim(0, 4)
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())[..., :3]
    height, width = pixels.shape[:2]

    def at(x: float, y: float) -> list[int]:
        return pixels[int(height * (1 - y / 4)), int(width * x / 8)].tolist()
    assert at(0.5, 2) == [255, 0, 0] and at(2, 2) == [255, 255, 255]  # ring and its hole
    assert at(5.5, 0.5) == [0, 0, 255] and at(6.5, 0.5) == [255, 255, 255]
    plt.close(figure)


def test_a_static_map_has_every_required_element(grid_areas, tmp_path):
    figure = static_map(grid_areas, "score", "Totaalscore per buurt – Proefdorp, 2025Q3",
                        "30 september 2025", legend_title="Score (0–100)",
                        outlines=grid_areas.iloc[:2])
    text = figure_text(figure)
    for expected in ("Totaalscore per buurt – Proefdorp, 2025Q3", "VERTROUWELIJK",
                     "Peildatum gegevens: 30 september 2025", "Score (0–100)", "N", "km",
                     "Geen score", "Bedrijventerrein"):
        assert expected in text
    for suffix in ("png", "pdf"):
        path = write_figure(figure, tmp_path / f"kaart.{suffix}", Guard())
        assert path.stat().st_size > 5_000
    plt.close(figure)


@pytest.mark.parametrize("dpi", [None, 100, 73])
def test_a_png_has_a_palette_and_the_picture_matplotlib_draws(grid_areas, tmp_path, dpi):
    """256 colours or fewer, the size matplotlib gives it, and every pixel close to
    matplotlib's own PNG (text drawn the same way); each colour of the legend within two
    steps of a colour drawn."""
    from PIL import Image

    from riskmap.indicators.privacy import FIGURE_RC

    figure = static_map(grid_areas, "score", "Totaalscore", "30 september 2025")
    options = {} if dpi is None else {"dpi": dpi}
    ours = Image.open(write_figure(figure, tmp_path / "kaart.png", Guard(), **options))
    with plt.rc_context(FIGURE_RC):
        figure.savefig(tmp_path / "matplotlib.png", **options)
    theirs = np.asarray(Image.open(tmp_path / "matplotlib.png").convert("RGB")).astype(int)
    assert ours.mode == "P" and len(ours.getcolors()) <= 256
    pixels = np.asarray(ours.convert("RGB")).astype(int)
    assert pixels.shape == theirs.shape
    difference = np.abs(pixels - theirs).max(axis=2)
    assert difference.mean() < 2 and (difference > 32).mean() < 0.002
    fills = {tuple(int(c * 255 + 0.5) for c in patch.get_facecolor()[:3])
             for patch in figure.axes[0].patches if patch.get_facecolor()[3] > 0}
    drawn = np.array([colour for _, colour in ours.convert("RGB").getcolors(256)])
    assert fills and all(np.abs(drawn - fill).max(axis=1).min() <= 2 for fill in fills)
    plt.close(figure)


def test_the_legend_lists_each_class_under_its_title_one_below_the_other(grid_areas):
    """Right of the map, the title on top, then a swatch in each class's colour beside its
    label, each lower than the one before (two-line labels too), none overlapping."""
    from riskmap.maps.static import LEGEND_AT

    figure = static_map(grid_areas, "score", "Totaalscore", "30 september 2025",
                        legend_title="Score (0–100)", outlines=grid_areas.iloc[:2],
                        outline_label="Bedrijventerrein / Vakantiepark met een lange naam")
    ax = figure.axes[0]
    renderer = FigureCanvasAgg(figure).get_renderer()
    corner = ax.transAxes.transform(LEGEND_AT)  # the north arrow's N is above it
    texts = [t for t in ax.texts if t.get_window_extent(renderer).x0 >= corner[0]
             and t.get_window_extent(renderer).y1 <= corner[1]]
    assert texts[0].get_text() == "Score (0–100)"
    boxes = [t.get_window_extent(renderer) for t in texts]
    assert all(upper.y0 > lower.y1 for upper, lower in pairwise(boxes))
    assert "\n" in texts[-1].get_text()  # wrapped at LEGEND_WIDTH
    swatches = [p.get_window_extent(renderer) for p in ax.patches]
    assert len(swatches) == len(texts) - 1
    for swatch, label in zip(swatches, boxes[1:], strict=True):
        assert swatch.x1 < label.x0 and label.y0 < (swatch.y0 + swatch.y1) / 2 < label.y1
    plt.close(figure)


def test_categorical_static_map_lists_the_categories_present(grid_areas):
    figure = static_map(grid_areas, "category", "Hotspots", "30 september 2025",
                        categories={"Hotspot": "#b2182b", "Coldspot": "#2166ac",
                                    "Niet significant": "#f2f2f2"})
    text = figure_text(figure)
    assert all(label in text for label in ("Hotspot", "Coldspot", "Niet significant"))
    plt.close(figure)


def test_a_figure_with_a_known_pseudonym_is_not_written(grid_areas, tmp_path):
    token = grid_areas["secret"].iloc[3]
    figure = static_map(grid_areas, "score", f"Titel {token}", "30 september 2025")
    guard = Guard(lambda tokens: tokens & {token})
    with pytest.raises(PrivacyError, match=r"bevat 1 gepseudonimiseerde id\('s\); niet geschreven"):
        write_figure(figure, tmp_path / "kaart.png", guard)
    assert not (tmp_path / "kaart.png").exists()
    plt.close(figure)


def test_figure_text_reads_what_is_drawn_tick_labels_of_shown_axes_and_table_cells_too():
    figure = plt.figure(figsize=(4, 2))
    shown, hidden = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    shown.set_xticks([0, 1], ["as-links", "as-rechts"])
    shown.table([["cel-a"]])
    hidden.set_xticks([0, 1], ["onzichtbaar", "ook"])
    hidden.set_title("titel-rechts")
    hidden.text(0.5, 0.5, "tekst-rechts")
    hidden.set_axis_off()  # its axes' lines and labels are not drawn
    text = figure_text(figure).split("\n")
    for expected in ("as-links", "as-rechts", "cel-a", "titel-rechts", "tekst-rechts"):
        assert expected in text
    assert "onzichtbaar" not in text
    plt.close(figure)
