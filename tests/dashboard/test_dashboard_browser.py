"""The demo's dashboard in headless Chromium with the network off, step by step as an analyst
would use it: choose a quarter, click a buurt and read its profile, switch theme, turn the
vakantieparken overlay off and on, show only vakantieparken and click one for its profile,
compare two quarters, search a buurt by name, look at the gemeente comparison and the print
view. A dashboard with a third, made-up area type (``conftest.py``) shows it as the others.

Every request that is not a local file is aborted and counted (the ``page`` fixture); each step
leaves a screenshot in ``out/screenshots/`` (``dashboard_*.png``).
"""

from __future__ import annotations

import pytest

from riskmap.fmt import number, signed

pytestmark = pytest.mark.browser

# A point inside an area's polygon on the base map, in page pixels: the grid point over its
# bounds nearest the middle that lies inside (ray casting), with a margin of 4 pixels.
INSIDE_POINT = """([level, code]) => {
  const d = window.rmDashboard;
  const layer = d.shapes[level][code];
  const poly = layer.getLayers()[0];
  const ll = poly.getLatLngs();
  const rings = [].concat(...(Array.isArray(ll[0][0]) ? ll : [ll]));
  const px = rings.map(r => r.map(p => d.map.latLngToContainerPoint(p)));
  const inside = (x, y) => {
    let n = 0;
    for (const r of px) {
      for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
        const crosses = (r[i].y > y) !== (r[j].y > y);
        if (crosses && x < (r[j].x - r[i].x) * (y - r[i].y) / (r[j].y - r[i].y) + r[i].x) n++;
      }
    }
    return n % 2 === 1;
  };
  const b = layer.getBounds();
  const p0 = d.map.latLngToContainerPoint(b.getNorthWest());
  const p1 = d.map.latLngToContainerPoint(b.getSouthEast());
  let best = null;
  for (let i = 1; i < 20; i++) for (let j = 1; j < 20; j++) {
    const x = p0.x + (p1.x - p0.x) * i / 20, y = p0.y + (p1.y - p0.y) * j / 20;
    const ok = [[0, 0], [4, 0], [-4, 0], [0, 4], [0, -4]].every(([a, c]) => inside(x + a, y + c));
    const c = Math.hypot(i - 10, j - 10);
    if (ok && (!best || c < best.c)) best = {x, y, c};
  }
  const box = document.getElementById('rm-map').getBoundingClientRect();
  return best ? [box.left + best.x, box.top + best.y] : null;
}"""


@pytest.fixture(scope="module")
def facts(demo_run):
    """What the store says, to check the page against."""
    with demo_run.project.store(read_only=True) as store:
        scores = store.query("SELECT s.period, s.area_code, s.score, s.rank, s.change, a.name "
                             "FROM scores s JOIN areas a ON a.code = s.area_code "
                             "WHERE s.level = 'buurt' AND s.theme = 'totaal'")
        small = store.query("SELECT area_code, indicator FROM indicator_values WHERE period = ? "
                            "AND level = 'buurt' AND reason = 'klein aantal'",
                            [str(demo_run.period)])
        parks = store.query("SELECT s.area_code, s.theme, s.score, a.name FROM scores s JOIN "
                            "areas a ON a.code = s.area_code WHERE s.level = 'vakantiepark' "
                            "AND s.period = ?", [str(demo_run.period)])
    return scores, small, parks


def _open(page, demo_run):
    page.goto(demo_run.outputs["dashboard"].as_uri())
    page.wait_for_function("window.rmDashboard && window.rmDashboard.ready", timeout=60_000)
    page.wait_for_selector("#rm-theme table")


def test_dashboard_steps_without_network(page, demo_run, facts, screenshots):
    scores, small, parks = facts
    latest, first = str(demo_run.period), sorted(scores["period"].unique())[0]
    _open(page, demo_run)
    page.screenshot(path=str(screenshots / "dashboard_1_start.png"))
    assert "Havenwaard" in page.locator("h1").inner_text()
    assert page.locator("#rm-quarter").input_value() == latest
    _choose_quarter(page, scores, first, screenshots)
    page.select_option("#rm-quarter", latest)
    _click_buurt_and_read_profile(page, scores[scores["period"] == latest], small, screenshots)
    _switch_theme(page, screenshots)
    _vakantieparken(page, parks, screenshots)
    _compare_quarters(page, scores, first, latest, screenshots)
    _search_buurt(page, scores[scores["period"] == latest], screenshots)
    _gemeente_and_print(page, screenshots)
    assert page.attempted == []
    assert page.errors == []


def _choose_quarter(page, scores, first, screenshots):
    """The ranking follows the chosen quarter."""
    page.select_option("#rm-quarter", first)
    page.select_option("#rm-level", "buurt")
    page.wait_for_function(f"window.rmDashboard.state.period === '{first}'")
    top = scores[scores["period"] == first].sort_values("rank").iloc[0]
    first_row = page.locator("#rm-theme tbody tr").first.inner_text()
    assert top["name"] in first_row and number(top["score"]) in first_row
    page.screenshot(path=str(screenshots / "dashboard_2_kwartaal.png"))


def _click_buurt_and_read_profile(page, now, small, screenshots):
    """A real mouse click on a buurt with values not shown opens its profile."""
    now = now.set_index("area_code")
    code = small["area_code"].value_counts().index[0]
    point = page.evaluate(INSIDE_POINT, ["buurt", code])
    assert point is not None
    page.mouse.click(*point)
    profile = page.locator("#rm-profile")
    profile.wait_for(state="visible")
    assert page.locator("#rm-profile-title").inner_text() == now.loc[code, "name"]
    assert page.locator("#rm-profile-score").inner_text().startswith(number(now.loc[code, "score"]))
    text = profile.inner_text()
    assert f"{int(now.loc[code, 'rank'])} van {now['score'].notna().sum()}" in text
    assert signed(now.loc[code, "change"]) in text
    for label in ("Rang 5–95%", "Belangrijkste factoren", "Hotspotstatus", "Index gemeente = 100",
                  "Index Nederland = 100"):
        assert label in text
    for indicator in small[small["area_code"] == code]["indicator"]:
        cell = page.locator(f'#rm-profile-table tr[data-indicator="{indicator}"] td').nth(1)
        assert cell.inner_text() == "<5"
    page.wait_for_selector("#rm-profile-indicators svg")
    page.screenshot(path=str(screenshots / "dashboard_3_profiel.png"))
    page.locator("#rm-profile-table").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "dashboard_3_profiel_indicatoren.png"))
    page.locator("#rm-profile-indicators").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "dashboard_3_profiel_verloop.png"))


def _switch_theme(page, screenshots):
    """The map, its legend and the theme page follow the theme tab."""
    page.get_by_role("tab", name="Drugs").click()
    page.wait_for_function("window.rmDashboard.state.theme === 'drugs'")
    assert page.locator("#rm-theme h2").inner_text().startswith("Drugs")
    assert "Drugs" in page.locator('.rm-legend[data-layer="score"] b').inner_text()
    page.wait_for_selector("#rm-theme-trend svg")
    page.screenshot(path=str(screenshots / "dashboard_4_thema_drugs.png"))
    page.check("#rm-show-emerging")  # hatched, over the outlined hotspots and the fill
    patterned = page.evaluate("""() => { const d = window.rmDashboard;
        const q = d.quarter(d.state.period).buurt; return q.emerging.filter(
          (e, i) => e !== null && e !== 6 && d.geo('buurt').geometry[i]).length; }""")
    assert patterned > 0
    assert page.locator("path.rm-emerging").count() == patterned
    assert page.locator("path.rm-hotspot").count() > 0
    for layer in ("score", "area-bedrijventerrein", "area-vakantiepark", "hotspots", "emerging"):
        assert page.locator(f'.rm-legend[data-layer="{layer}"]').is_visible()
    page.locator("#rm-legends").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "dashboard_4_opkomende_hotspots.png"))
    page.uncheck("#rm-show-emerging")


def _vakantieparken(page, parks, screenshots):
    """The vakantieparken overlay goes off and on with its legend; shown alone, a mouse click
    on a park opens its profile with its own theme (gelegenheid)."""
    page.get_by_role("tab", name="Overzicht").click()
    drawn = page.evaluate("() => window.rmDashboard.geo('vakantiepark').geometry.filter(g => g).length")
    assert drawn >= 2
    overlay = page.locator("path.rm-area-vakantiepark")
    assert overlay.count() == drawn
    page.uncheck("#rm-show-vakantiepark")
    assert overlay.count() == 0
    assert page.locator('.rm-legend[data-layer="area-vakantiepark"]').count() == 0
    assert page.locator("path.rm-area-bedrijventerrein").count() > 0
    page.screenshot(path=str(screenshots / "dashboard_4_vakantieparken_uit.png"))
    page.check("#rm-show-vakantiepark")
    assert overlay.count() == drawn
    assert page.locator('.rm-legend[data-layer="area-vakantiepark"]').is_visible()
    page.check("#rm-only-vakantiepark")
    page.wait_for_function("window.rmDashboard.state.only === 'vakantiepark'")
    assert page.locator("#rm-level").is_disabled()
    assert "vakantieparken" in page.locator("#rm-theme h2").inner_text()
    page.wait_for_timeout(500)
    total = parks[parks["theme"] == "totaal"].dropna(subset=["score"]).sort_values("score")
    park = total.iloc[-1]
    assert park["name"] in page.locator("#rm-theme tbody tr").first.inner_text()
    page.screenshot(path=str(screenshots / "dashboard_4_alleen_vakantieparken.png"))
    point = page.evaluate(INSIDE_POINT, ["vakantiepark", park["area_code"]])
    assert point is not None
    page.mouse.click(*point)
    page.locator("#rm-profile").wait_for(state="visible")
    assert page.locator("#rm-profile-title").inner_text() == park["name"]
    assert page.locator("#rm-profile-score").inner_text().startswith(number(park["score"]))
    text = page.locator("#rm-profile").inner_text()
    assert f"Vakantiepark · {park['area_code']}" in text
    own = parks[(parks["area_code"] == park["area_code"]) & (parks["theme"] == "gelegenheid")]
    assert f"Gelegenheidsstructuren\t{number(own['score'].iloc[0])}" in text
    legend = page.locator("#rm-profile-scores svg").text_content()
    assert "Gelegenheidsstructuren" in legend and "Drugs" not in legend  # its own themes only
    page.wait_for_selector("#rm-profile-indicators svg")
    page.wait_for_timeout(500)  # Leaflet's zoom animation (250 ms) ends before the screenshot
    page.screenshot(path=str(screenshots / "dashboard_4_profiel_vakantiepark.png"))
    page.uncheck("#rm-only-vakantiepark")
    page.wait_for_function("window.rmDashboard.state.only === null")


def _compare_quarters(page, scores, first, latest, screenshots):
    """The largest riser between two quarters is the store's."""
    page.get_by_role("tab", name="Kwartalen vergelijken").click()
    page.select_option("#rm-compare-a", first)
    page.select_option("#rm-compare-b", latest)
    both = scores[scores["period"].isin([first, latest])].pivot_table(
        index="name", columns="period", values="score")
    rise = (both[latest] - both[first]).dropna().sort_values(ascending=False)
    assert page.locator("#rm-risers tbody tr").first.inner_text().startswith(rise.index[0])
    assert "Nieuwe hotspots in" in page.locator("#rm-hotspot-changes").inner_text()
    page.wait_for_selector("#rm-compare-chart svg")
    page.screenshot(path=str(screenshots / "dashboard_5_vergelijken.png"), full_page=True)


def _search_buurt(page, now, screenshots):
    """Part of a name finds the buurt; choosing it opens its profile."""
    target = now.dropna(subset=["rank"]).sort_values("rank").iloc[-1]
    page.fill("#rm-search", target["name"][:5].lower())
    page.wait_for_selector("#rm-search-results li[data-code]")
    page.screenshot(path=str(screenshots / "dashboard_6_zoeken.png"))
    page.locator(f'#rm-search-results li[data-code="{target["area_code"]}"]') \
        .dispatch_event("mousedown")
    page.wait_for_function(f"document.getElementById('rm-profile-title') && "
                           f"document.getElementById('rm-profile-title').textContent === "
                           f"{target['name']!r}")
    page.screenshot(path=str(screenshots / "dashboard_7_gevonden.png"))


def _gemeente_and_print(page, screenshots):
    """The gemeente against Nederland and similar gemeenten; the print view of the map page."""
    page.get_by_role("tab", name="Gemeente en Nederland").click()
    page.wait_for_selector("#rm-gemeente-chart svg")
    assert page.locator("#rm-gemeente-table tbody tr").count() >= 5
    page.screenshot(path=str(screenshots / "dashboard_8_gemeente.png"), full_page=True)
    page.get_by_role("tab", name="Overzicht").click()
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    page.screenshot(path=str(screenshots / "dashboard_9_afdrukken.png"), full_page=True)


def test_page_numbers_read_as_riskmap_fmt(page, demo_run):
    _open(page, demo_run)
    values = [0, 0.04, 1.25, -3.5, 1234.5, 1_234_567.891, 98.76]
    for decimals in (0, 1, 2):
        shown = page.evaluate("([vs, d]) => vs.map(v => window.rmDashboard.fmtNumber(v, d))",
                              [values, decimals])
        assert shown == [number(v, decimals) for v in values]
    shown = page.evaluate("vs => vs.map(v => window.rmDashboard.fmtSigned(v, 1))", values)
    assert shown == [signed(v) for v in values]
    assert page.attempted == []


def test_a_third_area_type_is_a_layer_filter_and_search_hit(page, third_type, screenshots):
    """Winkelgebieden, from configuration only, are drawn, filtered and found like the others."""
    page.goto(third_type.dashboard.as_uri())
    page.wait_for_function("window.rmDashboard && window.rmDashboard.ready", timeout=60_000)
    assert page.locator("path.rm-area-winkelgebied").count() == len(third_type.areas)
    assert "Winkelgebieden" in page.locator('.rm-legend[data-layer="area-winkelgebied"]').inner_text()
    page.check("#rm-only-winkelgebied")
    page.wait_for_function("window.rmDashboard.state.only === 'winkelgebied'")
    assert sorted(page.evaluate("Object.keys(window.rmDashboard.shapes.winkelgebied)")) \
        == sorted(third_type.areas)
    assert "winkelgebieden" in page.locator("#rm-theme h2").inner_text()
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshots / "dashboard_10_winkelgebieden.png"))
    code, name = next(iter(third_type.areas.items()))
    page.fill("#rm-search", name[:8].lower())
    hit = page.locator(f'#rm-search-results li[data-code="{code}"]')
    assert "Winkelgebied" in hit.inner_text()
    hit.dispatch_event("mousedown")
    page.wait_for_selector("#rm-profile-title")
    assert page.locator("#rm-profile-title").inner_text() == name
    assert f"Winkelgebied · {code}" in page.locator("#rm-profile").inner_text()
    page.wait_for_timeout(500)  # Leaflet's zoom animation (250 ms) ends before the screenshot
    page.screenshot(path=str(screenshots / "dashboard_10_profiel_winkelgebied.png"))
    assert page.attempted == [] and page.errors == []
