"""The tables and maps of a built quarter (``riskmap build``, ``riskmap map``)."""

from __future__ import annotations

from riskmap.pipeline import DemoRun
from riskmap.project import Project


def test_tables_written_while_the_maps_render_are_those_written_apart(project_copy: Project,
                                                                      demo_run: DemoRun):
    period = demo_run.period
    together = project_copy.tables_and_maps(period)
    written = {name: path.read_bytes() for name, path in together.items()}
    apart = {**project_copy.tables(period), **project_copy.map(period)}
    assert list(together)[:4] == ["scores", "indicatoren", "bronnen", "kwaliteit"]
    assert set(together) == set(apart)
    for name in ("scores", "indicatoren", "bronnen", "kwaliteit"):
        assert apart[name].read_bytes() == written[name], name
    assert written["kaart"].startswith(b"<!DOCTYPE html>")  # folium's element ids vary per map
    assert written["kaart_png"] == written["kaart_totaal_png"]
    assert all(written[f"{stem}_pdf"].startswith(b"%PDF") for stem in
               {name.rsplit("_", 1)[0] for name in together if name.endswith("_pdf")})
