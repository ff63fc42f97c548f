"""The tables and maps of a built quarter (``riskmap build``, ``riskmap map``)."""

from __future__ import annotations

from riskmap.demo import DemoRun
from riskmap.project import Project


def test_tables_written_while_the_maps_render_are_those_written_apart(project_copy: Project,
                                                                      demo_run: DemoRun):
    period = demo_run.period
    together = project_copy.tables_and_maps(period)
    written = {name: path.read_bytes() for name, path in together.items()}
    apart = project_copy.tables(period)
    assert list(together)[:4] == list(apart) == ["scores", "indicatoren", "bronnen", "kwaliteit"]
    for name, path in apart.items():
        assert path.read_bytes() == written[name], name
    assert written["kaart"].startswith(b"<!DOCTYPE html>")
    stems = {name.rsplit("_", 1)[0] for name in together if name.endswith(("_png", "_pdf"))}
    assert "kaart_totaal" in stems and len(stems) > 5
    for stem in stems - {"kaart"}:  # kaart_png is the overall map, also in kaart.png
        assert written[f"{stem}_png"].startswith(b"\x89PNG")
        assert written[f"{stem}_pdf"].startswith(b"%PDF")
    assert written["kaart_png"] == written["kaart_totaal_png"]
