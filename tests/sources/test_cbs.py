"""CBS loader against cbsodata, with only the HTTP layer mocked.

The responses are shaped like the real OData feed: the 2024 table uses the real DataProperties of
85984NED (with their suppression rules) and real 2024 values of Almere; the 2023 table uses the
same properties with other `_N` suffixes and the older name of the WOZ variable, as CBS does from
year to year. Both data sets are served, as CBS does: the UntypedDataSet as text with CBS's
symbols, the TypedDataSet with null for every symbol. The national row is keyed ``NL00``.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from riskmap.errors import OfflineError
from riskmap.project import Project
from riskmap.sources.cbs import (
    KERNCIJFERS,
    OPEN_CATALOG,
    POLICE_TABLE,
    fetch_with_cbsodata,
    known_variables,
    long_values,
    region_filter,
    resolve_columns,
)

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


def _untyped(value: Any) -> str:
    """A cell as CBS's UntypedDataSet writes it: right-aligned text; symbols stay symbols."""
    return f"{value:>10}" if value is not None else f"{'.':>10}"


def _typed(value: Any) -> Any:
    """The same cell in the TypedDataSet: a number, or null for every symbol."""
    return None if value is None or isinstance(value, str) else value


def _rows(properties: list[dict[str, Any]], values: dict[str, dict[str, Any]],
          cell: Any) -> list[dict]:
    keys = {re.sub(r"_\d+$", "", p["Key"]): p["Key"] for p in properties if p.get("Type") == "Topic"}
    rows = []
    for i, (code, by_stem) in enumerate(values.items()):
        row = {"ID": i, "WijkenEnBuurten": f"{code:<10}", keys["Codering"]: f"{code:<10}",
               keys["SoortRegio"]: "Buurt     "}
        row.update({keys.get(stem) or keys[OLD_NAMES[stem]]: cell(value)
                    for stem, value in by_stem.items()})
        rows.append(row)
    return rows


# Cells as CBS publishes them: "." (unknown, unreliable or secret), "x" (secret), "-" (nihil),
# blank (cannot occur); None is "." in the untyped set and null in the typed one.
VALUES = {
    "NL00": {"AantalInwoners": 17_942_942, "Woningvoorraad": 8_206_000,
             "HuishoudensMetEenLaagInkomen": 7.9, "OnbewoondeWoningen": 4},
    "BU00340101": {"AantalInwoners": 2150, "Woningvoorraad": 940, "GemiddeldeWOZWaardeVanWoningen": 301,
                   "HuishoudensTotaal": 1010, "HuishoudensMetEenLaagInkomen": None,
                   "OnbewoondeWoningen": "-", "PersonenPerSoortUitkeringBijstand": "x"},
    "BU00340102": {"AantalInwoners": 35, "Woningvoorraad": 12, "GemiddeldeWOZWaardeVanWoningen": ".",
                   "HuishoudensTotaal": 15, "HuishoudensMetEenLaagInkomen": ".",
                   "OnbewoondeWoningen": None, "GeboorteRelatief": ""},
    "BU00500101": {"AantalInwoners": 999},  # another gemeente: must be ignored
}


@pytest.fixture
def cbs_api(monkeypatch: pytest.MonkeyPatch, realdata: Path) -> dict[str, Any]:
    """Answer cbsodata's requests for two years from OData-shaped payloads."""
    props_2024 = json.loads((realdata / "cbs_85984NED_DataProperties.json").read_text("utf-8"))
    real = json.loads((realdata / "cbs_85984NED_gm_wk_2024.json").read_text("utf-8"))
    gm = {re.sub(r"_\d+$", "", k): v for k, v in real[GEMEENTE].items()}
    wk = {re.sub(r"_\d+$", "", k): v for k, v in real["WK003401"].items()}
    values = {GEMEENTE: {**gm, "GemiddeldeWOZWaardeVanWoningen": 341},
              "WK003401": {**wk, "GemiddeldeWOZWaardeVanWoningen": 298}, **VALUES}
    tables = {}
    for year, props in ((2024, props_2024), (2023, _properties_2023(props_2024))):
        table = KERNCIJFERS[year]
        tables[table] = {"TableInfos": [{"Identifier": table, "Title": f"Kerncijfers {year}"}],
                         "UntypedDataSet": _rows(props, values, _untyped),
                         "TypedDataSet": _rows(props, values, _typed),
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


def test_secret_and_missing_kept_apart_where_cbs_says_which(almere: Project, cbs_api):
    almere.load_cbs(2024)
    values = _values(almere, 2024)
    assert not any(code.startswith("BU0050") for code, _ in values)
    assert all(code == code.strip() for code, _ in values)

    def status(code: str, variable: str) -> str:
        value, state = values[(code, variable)]
        assert math.isnan(value)  # a gap stays NaN, never 0
        return str(state)

    # "." where the description's rule does not apply (1,010 households >= 100): unknown
    assert status("BU00340101", "HuishoudensMetEenLaagInkomen") == "ontbreekt"
    # "." or null below CBS's stated thresholds (12 dwellings < 20, 15 households < 100)
    assert status("BU00340102", "GemiddeldeWOZWaardeVanWoningen") == "geheim"
    assert status("BU00340102", "OnbewoondeWoningen") == "geheim"
    assert status("BU00340102", "HuishoudensMetEenLaagInkomen") == "geheim"
    assert status("BU00340101", "PersonenPerSoortUitkeringBijstand") == "geheim"  # "x"
    assert values[("BU00340101", "OnbewoondeWoningen")] == (0.0, "nihil")  # "-" is zero
    assert status("BU00340102", "GeboorteRelatief") == "kan niet voorkomen"  # blank


def test_untyped_data_set_asked_for_through_the_cbsodata_flag(cbs_api):
    raw = fetch_with_cbsodata(KERNCIJFERS[2024], region_filter(GEMEENTE), OPEN_CATALOG)
    assert "UntypedDataSet" in raw and "TypedDataSet" not in raw
    assert not any("/TypedDataSet" in url for url in cbs_api["calls"])


def test_typed_cache_still_reads_and_rules_still_apply(cbs_api):
    typed = {k: v for k, v in cbs_api["tables"][KERNCIJFERS[2024]].items() if k != "UntypedDataSet"}
    frame = long_values(typed, KERNCIJFERS[2024], 2024, lambda c: c.startswith("BU0034"))
    status = frame.set_index(["area_code", "variable"])["status"]
    assert status[("BU00340102", "GemiddeldeWOZWaardeVanWoningen")] == "geheim"
    assert status[("BU00340101", "PersonenPerSoortUitkeringBijstand")] == "ontbreekt"  # null


def test_national_row_nl00_kept_and_absent_variables_recorded(almere: Project, cbs_api):
    almere.load_cbs(2024)
    values = _values(almere, 2024)
    assert values[("NL00", "AantalInwoners")] == (17_942_942.0, "ok")
    assert values[("NL00", "HuishoudensMetEenLaagInkomen")] == (7.9, "ok")
    moves = values[(GEMEENTE, "Verhuizingen")]
    assert math.isnan(moves[0]) and moves[1] == "niet in tabel"
    assert (GEMEENTE, "BedrijfsvestigingenTotaal") not in values  # 85984NED has it: no marker


def test_response_without_nl00_warns_naming_the_table(almere: Project, cbs_api,
                                                    caplog: pytest.LogCaptureFixture):
    table = cbs_api["tables"][KERNCIJFERS[2024]]
    for name in ("UntypedDataSet", "TypedDataSet"):
        table[name] = [r for r in table[name] if not r["WijkenEnBuurten"].startswith("NL00")]
    almere.load_cbs(2024)
    assert "CBS-tabel 85984NED: geen landelijke rij NL00" in caplog.text


def test_offline_reads_cache_and_says_when_empty(almere: Project, cbs_api):
    with pytest.raises(OfflineError, match="offline en geen bewaarde kopie van 85984NED"):
        almere.load_cbs(2024, offline=True)
    almere.load_cbs(2024)
    calls = len(cbs_api["calls"])
    record = almere.load_cbs(2024, offline=True)
    assert len(cbs_api["calls"]) == calls  # no network
    assert record.rows_kept == 5  # GM, WK, two BU and NL00


def test_network_failure_without_cache_is_clear(almere: Project, monkeypatch: pytest.MonkeyPatch):
    def refuse(*_: Any, **__: Any) -> None:
        raise requests.ConnectionError("Failed to resolve 'opendata.cbs.nl'")

    monkeypatch.setattr(requests.Session, "send", refuse)
    with pytest.raises(OfflineError, match=r"het netwerk is niet bereikbaar en er is geen bewaarde kopie"):
        almere.load_cbs(2024)


def test_resolve_columns_by_stem_title_and_group(realdata: Path):
    props = json.loads((realdata / "cbs_85984NED_DataProperties.json").read_text("utf-8"))
    mapping = resolve_columns(props)
    assert mapping["AantalInwoners_5"] == "AantalInwoners"
    assert mapping["GemiddeldeWOZWaardeVanWoningen_39"] == "GemiddeldeWOZWaardeVanWoningen"
    assert len(set(mapping.values())) == len(mapping)  # duplicate stems made unique
    renamed = _properties_2023(props)
    assert resolve_columns(renamed)["GemiddeldeWoningwaarde_42"] == "GemiddeldeWOZWaardeVanWoningen"


def test_variable_catalogue_matches_the_real_2024_table(realdata: Path):
    props = json.loads((realdata / "cbs_85984NED_DataProperties.json").read_text("utf-8"))
    present = set(resolve_columns(props).values())
    for name, spec in known_variables().items():
        if spec.get("source", "kerncijfers") != "kerncijfers":
            continue
        assert (name in present) != ("85984NED" in spec.get("absent_from", [])), name


def test_police_crime_from_demo_cache(project: Project):
    project.load_police(offline=True)
    with project.store(read_only=True) as store:
        frame = store.query("SELECT DISTINCT variable, table_id FROM cbs_values")
        national = store.query("SELECT DISTINCT variable FROM cbs_values WHERE area_code = 'NL00'")
    assert {"misdrijven_totaal", "misdrijven_drugs"} <= set(frame["variable"])
    assert set(frame["table_id"]) == {POLICE_TABLE}
    assert set(national["variable"]) == {"misdrijven_totaal", "misdrijven_drugs"}
