"""CBS loader against cbsodata, with only the HTTP layer mocked.

The responses are shaped like the real OData feed: the 2024 table uses the real DataProperties of
85984NED; the 2023 table uses the same properties with other `_N` suffixes and the older name of
the WOZ variable, as CBS does from year to year.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from riskmap.errors import OfflineError
from riskmap.project import Project
from riskmap.sources.cbs import KERNCIJFERS, POLICE_TABLE, resolve_columns

GEMEENTE = "GM0034"
OLD_NAMES = {"GemiddeldeWOZWaardeVanWoningen": "GemiddeldeWoningwaarde"}


def _properties_2023(properties: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shifted = copy.deepcopy(properties)
    for prop in shifted:
        key = prop.get("Key") or ""
        match = re.match(r"^(.*)_(\d+)$", key)
        if prop.get("Type") == "Topic" and match:
            stem = "GemiddeldeWoningwaarde" if match.group(1) == "GemiddeldeWOZWaardeVanWoningen" \
                else match.group(1)
            prop["Key"] = f"{stem}_{int(match.group(2)) + 3}"
    return shifted


def _rows(properties: list[dict[str, Any]], values: dict[str, dict[str, Any]]) -> list[dict]:
    keys = {re.sub(r"_\d+$", "", p["Key"]): p["Key"] for p in properties if p.get("Type") == "Topic"}
    rows = []
    for i, (code, by_stem) in enumerate(values.items()):
        row = {"ID": i, "WijkenEnBuurten": f"{code:<10}", keys["Codering"]: f"{code:<10}",
               keys["SoortRegio"]: "Buurt     "}
        row.update({keys.get(stem) or keys[OLD_NAMES[stem]]: value for stem, value in by_stem.items()})
        rows.append(row)
    return rows


@pytest.fixture
def cbs_api(monkeypatch: pytest.MonkeyPatch, realdata: Path) -> dict[str, Any]:
    """Answer cbsodata's requests for two years from OData-shaped payloads."""
    props_2024 = json.loads((realdata / "cbs_85984NED_DataProperties.json").read_text("utf-8"))
    real = json.loads((realdata / "cbs_85984NED_gm_wk_2024.json").read_text("utf-8"))
    gm = {re.sub(r"_\d+$", "", k): v for k, v in real[GEMEENTE].items()}
    wk = {re.sub(r"_\d+$", "", k): v for k, v in real["WK003401"].items()}
    values = {
        GEMEENTE: {**gm, "GemiddeldeWOZWaardeVanWoningen": 341},
        "WK003401": {**wk, "GemiddeldeWOZWaardeVanWoningen": 298},
        "BU00340101": {"AantalInwoners": 2150, "GemiddeldeWOZWaardeVanWoningen": 301,
                       "HuishoudensMetEenLaagInkomen": None},
        "BU00340102": {"AantalInwoners": 35, "GemiddeldeWOZWaardeVanWoningen": ".",
                       "HuishoudensMetEenLaagInkomen": "."},
        "BU00500101": {"AantalInwoners": 999},  # another gemeente: must be ignored
    }
    tables = {}
    for year, props in ((2024, props_2024), (2023, _properties_2023(props_2024))):
        table = KERNCIJFERS[year]
        typed = _rows(props, values)
        untyped = [{k: v if isinstance(v, str) else f"{v:>10}" if v is not None else "."
                    for k, v in row.items()} for row in typed]
        tables[table] = {"TableInfos": [{"Identifier": table, "Title": f"Kerncijfers {year}"}],
                         "UntypedDataSet": untyped, "TypedDataSet": typed,
                         "DataProperties": props, "CategoryGroups": []}
    calls: list[str] = []

    def send(self: requests.Session, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        calls.append(request.url or "")
        match = re.search(r"/ODataFeed/odata/(\w+)/(\w*)", request.url or "")
        assert match, request.url
        table, name = match.groups()
        if name == "":
            body = {"value": [{"name": n, "url": f"https://x/{n}"} for n in tables[table]]}
        else:
            body = {"value": tables[table][name]}
        response = requests.Response()
        response.status_code, response._content = 200, json.dumps(body).encode()
        response.url = request.url
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    return {"calls": calls, "tables": tables}


@pytest.fixture
def almere(tmp_path: Path) -> Project:
    return Project.init(tmp_path / "almere", GEMEENTE, 2024, naam="Almere")


def _values(project: Project, year: int) -> dict[tuple[str, str], Any]:
    with project.store(read_only=True) as store:
        frame = store.query("SELECT * FROM cbs_values WHERE year = ?", [year])
    return {(r.area_code, r.variable): (r.value, r.status) for r in frame.itertuples()}


def test_two_years_with_different_suffixes_resolve_to_one_name(almere: Project, cbs_api, realdata):
    real = json.loads((realdata / "cbs_85984NED_gm_wk_2024.json").read_text("utf-8"))
    gm_inhabitants = float(real[GEMEENTE]["AantalInwoners_5"])
    almere.load_cbs(2024)
    almere.load_cbs(2023)
    for year in (2024, 2023):
        values = _values(almere, year)
        assert values[("GM0034", "AantalInwoners")] == (gm_inhabitants, "ok")
        assert values[("BU00340101", "GemiddeldeWOZWaardeVanWoningen")] == (301.0, "ok")
        assert values[("WK003401", "GemiddeldeWOZWaardeVanWoningen")][0] == 298.0
    assert any("$filter=startswith" in url.replace("%24", "$").replace("%28", "(") for url in
               cbs_api["calls"])


def test_missing_and_secret_cells_stay_missing_and_codes_are_stripped(almere: Project, cbs_api):
    almere.load_cbs(2024)
    values = _values(almere, 2024)
    income = values[("BU00340101", "HuishoudensMetEenLaagInkomen")]
    assert income[0] != income[0] and income[1] == "ontbreekt"  # NaN, never 0
    assert values[("BU00340102", "GemiddeldeWOZWaardeVanWoningen")][1] == "geheim"
    assert not any(code.startswith("BU0050") for code, _ in values)
    assert all(code == code.strip() for code, _ in values)


def test_offline_reads_cache_and_says_when_empty(almere: Project, cbs_api):
    with pytest.raises(OfflineError, match="offline and no cached response"):
        almere.load_cbs(2024, offline=True)
    almere.load_cbs(2024)
    calls = len(cbs_api["calls"])
    record = almere.load_cbs(2024, offline=True)
    assert len(cbs_api["calls"]) == calls  # no network
    assert record.rows_kept == 4


def test_network_failure_without_cache_is_clear(almere: Project, monkeypatch: pytest.MonkeyPatch):
    def refuse(*_: Any, **__: Any) -> None:
        raise requests.ConnectionError("Failed to resolve 'opendata.cbs.nl'")

    monkeypatch.setattr(requests.Session, "send", refuse)
    with pytest.raises(OfflineError, match=r"cannot reach the network .* nothing is cached"):
        almere.load_cbs(2024)


def test_resolve_columns_by_stem_title_and_group(realdata: Path):
    props = json.loads((realdata / "cbs_85984NED_DataProperties.json").read_text("utf-8"))
    mapping = resolve_columns(props)
    assert mapping["AantalInwoners_5"] == "AantalInwoners"
    assert mapping["GemiddeldeWOZWaardeVanWoningen_39"] == "GemiddeldeWOZWaardeVanWoningen"
    assert len(set(mapping.values())) == len(mapping)  # duplicate stems made unique
    renamed = _properties_2023(props)
    assert resolve_columns(renamed)["GemiddeldeWoningwaarde_42"] == "GemiddeldeWOZWaardeVanWoningen"


def test_police_crime_from_demo_cache(project: Project):
    project.load_police(offline=True)
    with project.store(read_only=True) as store:
        frame = store.query("SELECT DISTINCT variable, table_id FROM cbs_values")
    assert {"misdrijven_totaal", "misdrijven_drugs"} <= set(frame["variable"])
    assert set(frame["table_id"]) == {POLICE_TABLE}
