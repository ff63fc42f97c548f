"""Static maps: every map carries title, legend, scale bar, north arrow, data date and marking."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from riskmap.errors import PrivacyError
from riskmap.indicators.privacy import Guard, figure_text, write_figure
from riskmap.maps.static import static_map


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
