"""The gebiedsanalyse (self-contained HTML) and the driehoek briefing (PDF)."""

from __future__ import annotations

import base64
import re

import pytest
from html_parts import parse
from pypdf import PdfReader

from riskmap.fmt import MISSING
from riskmap.models.ranking import stored_choice
from riskmap.reports.content import ranked_areas
from riskmap.reports.gebiedsanalyse import TOC
from riskmap.reports.targets import target_cells


@pytest.fixture(scope="module")
def report(demo_output):
    html = (demo_output / "gebiedsanalyse.html").read_text(encoding="utf-8")
    return html, parse(html)


def test_report_has_every_section_in_dutch(report):
    html, page = report
    for anchor, _label in TOC:
        assert f'id="{anchor}"' in html
    text = " ".join(page.text)
    for phrase in ("Een patroon is geen bewijs", "Hoogste risico: top 10 buurten",
                   "Grootste stijgers sinds", "Bedrijventerreinen", "Rang 5–95%",
                   "onder 5 staan overal als <5", "Herkomst van de gegevens",
                   "VERTROUWELIJK", "Gebruikte rangorde voor de toplijsten en de doelenlijst",
                   "Oordeel: de rangorde doet het", "Armste vijfde van de buurten",
                   "Zonder het thema kwetsbaarheid", "Dekking van de scores"):
        assert phrase in text, phrase


def test_report_is_self_contained(report):
    _html, page = report
    external = [u for u in page.urls if not u.startswith(("#", "data:image/png;base64,"))]
    assert external == []
    images = [u for u in page.urls if u.startswith("data:image/png;base64,")]
    assert len(images) >= 9  # overall + 5 themes + gelegenheid + at least 2 trend charts
    for uri in images:
        assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_tables_top_ten_terreinen_and_lineage(report, demo_run):
    _html, page = report
    tables = [(tuple(t[0]), t[1:]) for t in page.tables if t]
    top, risers = (rows for h, rows in tables if h[:2] == ("Rang", "Buurt"))
    assert [int(r[0]) for r in top] == list(range(1, 11))
    assert 0 < len(risers) <= 10 and all(r[5].startswith("+") for r in risers)
    terrains = next(rows for h, rows in tables if "Bedrijventerrein" in h)
    assert len(terrains) == 4
    lineage = next(rows for h, rows in tables if "SHA-256 (begin)" in h)
    assert any(r[1] == "kvk_vestigingen.csv" or "kvk_vestigingen.csv" in r for r in lineage)
    assert len(lineage) == len({(r.source, r.slice) for r in demo_run.loads})  # loads in use


def test_report_says_what_is_not_available(report, demo_run):
    html, _page = report
    with demo_run.project.store(read_only=True) as store:
        computed = store.query("SELECT count(*) AS n FROM hotspots")["n"].iloc[0]
    if not computed:
        assert "Hotspots (Gi*): niet beschikbaar" in html


def test_report_and_indicator_table_name_a_cbs_variable_not_in_the_table(report, demo_output):
    # 85984NED (Kerncijfers 2024) has no moves: the verhuizingen indicator says so, not silence
    html, _page = report
    assert "Verhuizingen per 1.000 inwoners: niet beschikbaar in 2024" in html
    table = (demo_output / "indicatoren.csv").read_text(encoding="utf-8-sig").splitlines()
    moves = [line for line in table if ";Verhuizingen per 1.000 inwoners;" in line]
    assert moves and all(line.endswith("niet beschikbaar in 2024: niet in de CBS-tabel van dat "
                                       "jaar") for line in moves)


def test_report_with_hotspots_and_model(project_copy, planted, demo_run):
    paths = project_copy.report(demo_run.period, pdf=True)
    html = paths["gebiedsanalyse"].read_text(encoding="utf-8")
    assert "Hotspots (Gi*, na FDR-correctie): 4 hotspots onder" in html
    assert "Opkomende hotspots t/m" in html and 'alt="Hotspots (Gi*) van de totaalscore' in html
    text = "".join(page.extract_text() for page in PdfReader(paths["briefing"]).pages)
    assert "Niet beschikbaar: de hotspotanalyse" not in text
    with project_copy.store(read_only=True) as store:
        cells = target_cells(store, demo_run.period, 40, 5)
        chosen = stored_choice(store, demo_run.period).method
    expected = cells.loc[cells["level"] == "buurt", "expected"]
    # the target list follows the ranking the track record chose (a model's chance, or the score)
    assert expected.eq(0.3).all() if chosen != "score" else expected.isna().all()


def test_briefing_is_a_short_tagged_confidential_pdf(demo_output):
    reader = PdfReader(demo_output / "briefing_driehoek.pdf")
    assert 2 <= len(reader.pages) <= 5
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root and root["/Lang"] == "nl"
    assert reader.metadata["/Title"].startswith("Briefing driehoek")
    for page in reader.pages:
        text = page.extract_text()
        assert "VERTROUWELIJK" in text and re.search(r"pagina \d van \d", text)
    first = reader.pages[0].extract_text()
    assert first.index("Aandachtspunten") < first.index("Per fenomeen")
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Hoogste risico: top 10 buurten" in text and "Trackrecord van de rangorde" in text


def test_static_maps_per_theme_as_png_and_pdf(demo_output):
    folder = demo_output / "kaarten"
    stems = {p.stem for p in folder.glob("*.png")}
    assert {"kaart_totaal", "kaart_drugs", "kaart_criminogene_branches", "kaart_mensenhandel",
            "kaart_vastgoed", "kaart_kwetsbaarheid", "kaart_gelegenheid"} <= stems
    assert stems == {p.stem for p in folder.glob("*.pdf")}
    text = PdfReader(folder / "kaart_drugs.pdf").pages[0].extract_text()
    assert "Drugs per buurt" in text and "VERTROUWELIJK" in text and "Peildatum" in text


def test_report_of_a_quarter_with_buurten_without_any_score(project_copy, demo_run):
    """Real gemeenten have buurten without a score (water, no addresses): the national run's
    gebiedsanalyse stopped on one with pandas' ``Encountered all NA values``."""
    period = str(demo_run.period)
    with project_copy.store() as store:
        codes = store.query("SELECT DISTINCT area_code FROM scores WHERE period = ? AND "
                            "level = 'buurt' ORDER BY area_code LIMIT 3", [period])["area_code"]
        store.con.execute("DELETE FROM scores WHERE period = ? AND level = 'buurt' AND "
                          "area_code IN (SELECT unnest(?::VARCHAR[]))", [period, list(codes)])
        ranked = ranked_areas(store, demo_run.period, "buurt", project_copy.catalogue())
    assert not set(codes) & set(ranked["code"]) and len(ranked)
    assert (ranked["top_theme"] != MISSING).all()
    html = project_copy.report(period)["gebiedsanalyse"].read_text(encoding="utf-8")
    assert "Hoogste risico: top 10 buurten" in html
