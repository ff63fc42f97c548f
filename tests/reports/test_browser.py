"""The offline map and the gebiedsanalyse in headless Chromium, with the network off.

Every request that is not a local file or inline data is aborted and recorded (the ``page``
fixture in ``tests/conftest.py``); the tests assert none was attempted. Screenshots go to
``out/screenshots/`` (or ``$RISKMAP_SCREENSHOTS``).
"""

from __future__ import annotations

import pytest

from riskmap.maps.interactive import layer_class
from riskmap.maps.layers import GRID_LAYER, grid_layer

pytestmark = pytest.mark.browser

def _area_counts(demo_run) -> dict[str, int]:
    with demo_run.project.store(read_only=True) as store:
        rows = store.query("SELECT level, count(*) AS n FROM areas WHERE year = (SELECT max(year) "
                           "FROM areas) GROUP BY level")
    return dict(zip(rows["level"], rows["n"], strict=True))


def test_offline_map_draws_one_shape_per_area_without_network(page, demo_output, demo_run,
                                                              screenshots):
    counts = _area_counts(demo_run)
    page.goto((demo_output / "kaart.html").as_uri())
    page.wait_for_selector(f"path.{layer_class('Buurten – totaalscore')}")
    buurten = page.locator(f"path.{layer_class('Buurten – totaalscore')}")
    assert buurten.count() == counts["buurt"]
    terrains = page.locator(f"path.{layer_class('Bedrijventerreinen – totaalscore')}")
    assert terrains.count() == counts["bedrijventerrein"]
    page.locator("path.rm-buurten-totaalscore").nth(counts["buurt"] // 2).hover()
    tooltip = page.locator(".leaflet-tooltip").first
    tooltip.wait_for()
    for label in ("Naam", "Code", "Rang 5–95%", "Belangrijkste factoren",
                  "Verandering t.o.v. vorig kwartaal"):
        assert label in tooltip.inner_text()
    page.screenshot(path=str(screenshots / "kaart_offline.png"))

    page.locator(".leaflet-control-layers").get_by_text("Buurten – drugs", exact=True).click()
    drugs = page.locator(f"path.{layer_class('Buurten – drugs')}")
    assert drugs.count() == counts["buurt"]
    assert page.locator("path.rm-buurten-totaalscore").count() == 0
    assert page.locator('.rm-legend[data-layer="Buurten – drugs"]').is_visible()
    assert not page.locator('.rm-legend[data-layer="Buurten – totaalscore"]').is_visible()
    page.mouse.move(5, 5)
    page.screenshot(path=str(screenshots / "kaart_offline_drugs.png"))
    assert page.attempted == []
    assert page.errors == []


def test_offline_map_overlays_for_hotspots_and_grid(page, demo_output, demo_run, screenshots):
    with demo_run.project.store(read_only=True) as store:
        significant = store.query("SELECT count(*) AS n FROM hotspots WHERE period = ? AND "
                                  "level = 'buurt' AND category IN ('hotspot', 'coldspot')",
                                  [str(demo_run.period)])["n"].iloc[0]
        cells = grid_layer(store, demo_run.period, 5)
    page.goto((demo_output / "kaart.html").as_uri())
    controls = page.locator(".leaflet-control-layers")
    for name, expected in (("Hotspots (Gi*)", significant),
                           (GRID_LAYER, 0 if cells is None else len(cells.areas))):
        if not expected:
            continue
        controls.get_by_text(name, exact=True).click()
        assert page.locator(f"path.{layer_class(name)}").count() == expected
        assert page.locator(f'.rm-legend[data-layer="{name}"]').is_visible()
    page.screenshot(path=str(screenshots / "kaart_offline_overlays.png"))
    assert page.attempted == []
    assert page.errors == []


def test_report_images_load_without_network(page, demo_output, screenshots):
    page.goto((demo_output / "gebiedsanalyse.html").as_uri())
    page.wait_for_load_state("load")
    images = page.locator("img")
    assert images.count() >= 9
    loaded = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth)")
    assert all(width and width > 100 for width in loaded), loaded
    page.screenshot(path=str(screenshots / "gebiedsanalyse_begin.png"))
    page.locator("#kaarten").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "gebiedsanalyse_kaarten.png"))
    page.locator("#trends").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "gebiedsanalyse_trends.png"))
    assert page.attempted == []
    assert page.errors == []
