"""What the dashboard embeds: only what may be shown, in the file's JSON blocks.

Privacy over the embedded data: a value the store marks as not shown is not in the file (only
the marker ``"k"``/``"n"`` or ``null``), nor its indices; no driver names it; no numerators or
denominators, no point geometry, no pseudonym. The other outputs' scans (coordinates of source
points, trade names, postcodes, case numbers) run over the dashboard too, in
``tests/reports/test_privacy_outputs.py``, since the demo writes it to its output folder.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from riskmap.cli import main
from riskmap.config import CONFIG_NAME, KEY_NAME, STORE_NAME
from riskmap.dashboard.data import dumps, packed, unpack
from riskmap.indicators.privacy import PSEUDONYM
from riskmap.project import Project
from riskmap.sources.cbs import NATIONAL

BLOCK = re.compile(r'<script type="application/json" id="([^"]+)">(.*?)</script>', re.DOTALL)


def blocks(path: Path) -> dict[str, object]:
    """The JSON blocks of a dashboard by id (``rm-meta``, ``rm-geo-<level>``, ``rm-q-<period>``)."""
    return {name: unpack(json.loads(text))
            for name, text in BLOCK.findall(path.read_text("utf-8"))}


@pytest.fixture(scope="module")
def embedded(demo_run) -> dict[str, object]:
    return blocks(demo_run.outputs["dashboard"])


@pytest.fixture(scope="module")
def stored(demo_run):
    with demo_run.project.store(read_only=True) as store:
        return store.query("SELECT * FROM indicator_values")


def test_packed_lists_come_back_as_they_were():
    block = {"buurt": {"value": {"a": [7.6, 0.0, None, "k", "n", 12, -0.25, 1e-05, 123456789.5]},
                       "hotspot": [0, None, 2], "names": ["Oost", "West"], "flags": [True, False],
                       "empty": []}}
    packed_block = packed(block)
    assert isinstance(packed_block["buurt"]["value"]["a"], str)
    assert packed_block["buurt"]["names"] == ["Oost", "West"]
    assert packed_block["buurt"]["flags"] == [True, False]
    assert unpack(json.loads(json.dumps(packed_block))) == block
    # a NaN is not packed into the text "nan": the list stays, and dumps refuses it as before
    with pytest.raises(ValueError):
        dumps(packed({"value": [1.0, float("nan")]}))


def _cell(embedded, row, key):
    level = embedded[f"rm-q-{row.period}"].get(row.level, {})
    position = embedded[f"rm-geo-{row.level}"]["codes"].index(row.area_code)
    column = level.get(key, {}).get(row.indicator)
    return None if column is None else column[position]


def test_every_quarter_and_level_is_embedded(embedded, demo_run):
    meta = embedded["rm-meta"]
    with demo_run.project.store(read_only=True) as store:
        built = sorted(store.query("SELECT DISTINCT period FROM builds")["period"])
        counts = store.query("SELECT level, count(*) AS n FROM areas GROUP BY level")
    assert meta["periods"] == built
    assert {f"rm-q-{p}" for p in built} <= set(embedded)
    for level, n in zip(counts["level"], counts["n"], strict=True):
        assert len(embedded[f"rm-geo-{level}"]["codes"]) == n
    assert {t["id"] for t in meta["themes"]} >= {"totaal", "drugs", "gelegenheid"}


def test_values_not_shown_are_not_in_the_file(embedded, stored):
    hidden = stored[stored["suppressed"]]
    assert len(hidden) > 100
    for row in hidden.itertuples():
        marker = {"klein aantal": "k", "kleine noemer": "n"}.get(row.reason)
        assert _cell(embedded, row, "value") == marker, row
        assert _cell(embedded, row, "indexGemeente") is None
        assert _cell(embedded, row, "indexNl") is None
    decimals = embedded["rm-meta"]["decimals"]
    shown = stored[~stored["suppressed"] & stored["value"].notna()].sample(300, random_state=1)
    for row in shown.itertuples():
        assert _cell(embedded, row, "value") == round(row.value, decimals[row.indicator])


def test_no_driver_names_a_value_not_shown(embedded, stored):
    ids = [i["id"] for i in embedded["rm-meta"]["indicators"]]
    hidden = {(r.period, r.area_code, r.indicator) for r in stored[stored["suppressed"]].itertuples()}
    named = 0
    for name, data in embedded.items():
        if not name.startswith("rm-q-"):
            continue
        for level, block in data.items():
            codes = embedded[f"rm-geo-{level}"]["codes"]
            for code, drivers in zip(codes, block.get("drivers", []), strict=True):
                for k in drivers:
                    named += 1
                    assert (name[5:], code, ids[k]) not in hidden
    assert named > 100


def test_no_counts_points_or_pseudonyms(demo_run, embedded):
    text = demo_run.outputs["dashboard"].read_text("utf-8")
    assert not re.search(r'"(numerator|denominator|count|aantal)"\s*:', text)
    for name, data in embedded.items():
        if name.startswith("rm-geo-"):
            kinds = {g["type"] for g in data["geometry"] if g}
            assert kinds <= {"Polygon", "MultiPolygon"}, name
    with demo_run.project.store(read_only=True) as store:
        assert store.pseudonyms_among(set(PSEUDONYM.findall(text))) == set()


class _Links(HTMLParser):
    """The ``src`` and ``href`` attributes of the page's elements (not of text in scripts)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in {"src", "href"} and v]


def test_nothing_loaded_from_elsewhere(demo_run):
    links = _Links()
    links.feed(demo_run.outputs["dashboard"].read_text("utf-8"))
    assert links.urls == []


def test_similar_gemeenten_are_embedded(embedded):
    comparison = embedded["rm-meta"]["comparison"]
    roles = [g["role"] for g in comparison["gemeenten"]]
    assert roles.count("eigen") == 1 and roles.count("Nederland") == 1
    assert roles.count("vergelijkbaar") == 10
    own = next(g for g in comparison["gemeenten"] if g["role"] == "eigen")
    assert all(g["urbanity"] == own["urbanity"] for g in comparison["gemeenten"]
               if g["role"] == "vergelijkbaar")
    assert "stedelijkheid" in comparison["basis"]
    values = comparison["values"]["bijstand"]
    assert {NATIONAL, own["code"]} <= set(values)
    assert np.isfinite(list(values.values())).all()


def test_cli_writes_the_dashboard_and_refuses_an_unbuilt_project(demo_run, tmp_path, capsys):
    copy = tmp_path / "kopie"  # the CLI logs to the project's logs/: not to the demo's own
    copy.mkdir()
    for name in (CONFIG_NAME, KEY_NAME, STORE_NAME):
        shutil.copy2(demo_run.project.root / name, copy / name)
    out = tmp_path / "dash.html"
    with pytest.raises(SystemExit) as done:
        main(["dashboard", "-p", str(copy), "--out", str(out)])
    assert done.value.code == 0
    assert str(out.resolve()) in capsys.readouterr().out
    assert out.stat().st_size > 500_000
    empty = Project.init(tmp_path / "leeg", "GM0034", 2024)
    with pytest.raises(SystemExit) as done:
        main(["dashboard", "-p", str(empty.root)])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nog geen kwartaal berekend" in err


def test_a_third_area_type_needs_configuration_only(third_type, embedded):
    """Winkelgebieden, configured and loaded into a copy (``conftest.py``), get their own areas,
    level, overlay, filter and search hint, in the configuration's words and order."""
    text = third_type.dashboard.read_text("utf-8")
    found = blocks(third_type.dashboard)
    meta = found["rm-meta"]
    types = [t["id"] for t in embedded["rm-meta"]["areaTypes"]]
    assert types == ["bedrijventerrein", "vakantiepark"]
    assert [t["id"] for t in meta["areaTypes"]] == [*types, "winkelgebied"]
    own = meta["areaTypes"][-1]
    assert (own["label"], own["plural"]) == ("Winkelgebied", "Winkelgebieden")
    assert own["note"].startswith("Eigen laag van winkelgebieden")
    level = next(lv for lv in meta["levels"] if lv["id"] == "winkelgebied")
    assert (level["label"], level["plural"], level["areas"]) == ("Winkelgebied", "Winkelgebieden", 2)
    geo = found["rm-geo-winkelgebied"]
    assert dict(zip(geo["codes"], geo["names"], strict=True)) == third_type.areas
    assert {g["type"] for g in geo["geometry"]} == {"Polygon"}
    for plural in ("bedrijventerreinen", "vakantieparken", "winkelgebieden"):
        assert f"> Alleen {plural}</label>" in text
        assert f"> {plural.capitalize()} als laag</label>" in text
    assert 'id="rm-only-winkelgebied"' in text and 'id="rm-show-winkelgebied"' in text
    assert 'placeholder="Zoek een buurt, wijk, bedrijventerrein, vakantiepark of winkelgebied"' \
        in text
