"""Ready-made KvK formats, on small files built from the KVK API's own field names.

Field names and structure follow KVK's OpenAPI specifications of API Vestigingsprofiel and API
Basisprofiel (version 1.4): dates as ``jjjjmmdd`` strings, ``indHoofdactiviteit`` "Ja"/"Nee",
``adressen[].type`` "bezoekadres"/"correspondentieadres", ``geoData`` with RD and GPS coordinates.
"""

import json
from pathlib import Path

import pandas as pd
import pytest
from pyproj import Transformer

from riskmap.errors import InputError
from riskmap.project import Project
from riskmap.sources.kvk_formats import read_extract

X, Y = 185_000.0, 445_000.0  # centre of Havenwaard
LON, LAT = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True).transform(X, Y)


def _address(kind: str, geo: dict | None = None, **fields: object) -> dict:
    address = {"type": kind, "indAfgeschermd": "Nee", "volledigAdres": "Kadeweg 12 A 7000AA Havenwaard",
               "straatnaam": "Kadeweg", "huisnummer": 12, "huisletter": "A", "postcode": "7000AA",
               "plaats": "Havenwaard", "land": "Nederland", **fields}
    if geo is not None:
        address["geoData"] = geo
    return address


def _geo(dx: float = 0.0) -> dict:
    return {"addresseerbaarObjectId": "9999010000000001", "nummerAanduidingId": "9999200000000001",
            "gpsLatitude": LAT, "gpsLongitude": LON, "rijksdriehoekX": X + dx,
            "rijksdriehoekY": Y, "rijksdriehoekZ": 0.0}


def _vestiging(n: int, main: str, other: str = "47750", start: str = "20170512",
               **extra: object) -> dict:
    return {
        "vestigingsnummer": f"{37162400 + n:012d}", "kvkNummer": f"{68750110 + n}",
        "indNonMailing": "Ja", "formeleRegistratiedatum": start,
        "materieleRegistratie": {"datumAanvang": start}, "eersteHandelsnaam": f"Salon {n}",
        "indHoofdvestiging": "Ja", "indCommercieleVestiging": "Ja", "voltijdWerkzamePersonen": 1,
        "totaalWerkzamePersonen": 2, "deeltijdWerkzamePersonen": 1,
        "handelsnamen": [{"naam": f"Salon {n}", "volgorde": 0}],
        "adressen": [_address("correspondentieadres", postbusnummer=1, postcode="1000AA",
                              plaats="Amsterdam"),
                     _address("bezoekadres", _geo(n), huisnummerToevoeging="2")],
        "websites": ["www.salon.nl"],
        "sbiActiviteiten": [
            {"sbiCode": main, "sbiOmschrijving": "hoofd", "indHoofdactiviteit": "Ja"},
            {"sbiCode": other, "sbiOmschrijving": "neven", "indHoofdactiviteit": "Nee"}],
        "links": [{"rel": "self", "href": "https://api.kvk.nl/api/v1/vestigingsprofielen/x"}],
        **extra,
    }


def _stored(project: Project) -> pd.DataFrame:
    with project.store(read_only=True) as store:
        return store.query("SELECT * FROM establishments ORDER BY start_date, sbi")


def test_vestigingsprofielen_as_json_load_without_mapping(project: Project, tmp_path: Path):
    path = tmp_path / "vestigingen.json"
    path.write_text(json.dumps([_vestiging(1, "96210"), _vestiging(2, "56300", other="56111"),
                                _vestiging(3, "46710", start="19950000")]), encoding="utf-8")
    record = project.load_kvk(path)
    assert (record.rows_read, record.rows_kept, record.rejects) == (3, 3, {})
    assert record.notes == {"datum_aanvang zonder maand en dag (1 juli genomen)": 1}
    stored = _stored(project)
    assert stored["sbi"].tolist() == ["46710", "56300", "96210"]
    assert stored["branch"].tolist() == ["autobranche", "horeca", "kapsalons"]
    assert stored["sbi_other"].tolist() == ["47750", "56111", "47750"]
    assert set(stored["sbi_version"]) == {2025} and set(stored["staff"]) == {2}
    assert stored["start_date"].dt.strftime("%Y-%m-%d").iloc[0] == "1995-07-01"
    assert "Salon" not in stored.to_csv() and "000037162401" not in stored.to_csv()


def test_basisprofiel_hoofdvestiging_with_gps_only_and_json_lines(project: Project, tmp_path: Path):
    geo = {k: v for k, v in _geo().items() if not k.startswith("rijksdriehoek")}
    profile = {
        "kvkNummer": "68750110", "indNonMailing": "Ja", "naam": "Bikerfix",
        "formeleRegistratiedatum": "20170512", "materieleRegistratie": {"datumAanvang": "20170512"},
        "totaalWerkzamePersonen": 1,
        "sbiActiviteiten": [{"sbiCode": "95320", "sbiOmschrijving": "Reparatie en onderhoud van "
                                                                    "motorfietsen",
                             "indHoofdactiviteit": "Ja"}],
        "_embedded": {
            "eigenaar": {"rechtsvorm": "Eenmanszaak", "uitgebreideRechtsvorm": "Eenmanszaak"},
            "hoofdvestiging": {"vestigingsnummer": "000037162403", "kvkNummer": "68750110",
                               "eersteHandelsnaam": "Bikerfix", "indHoofdvestiging": "Ja",
                               "adressen": [_address("bezoekadres", geo)]}}}
    path = tmp_path / "profielen.jsonl"
    path.write_text(json.dumps(profile) + "\n" + json.dumps(_vestiging(7, "62100")) + "\n",
                    encoding="utf-8")
    record = project.load_kvk(path, format="kvk-api")
    assert record.rows_kept == 2
    stored = _stored(project)
    motor = stored[stored["sbi"] == "95320"].iloc[0]
    assert (motor["branch"], motor["legal_form"], motor["staff"]) == ("autobranche", "Eenmanszaak", 1)
    assert set(stored["buurt"].str[:6]) == {"BU9999"}


def test_columns_the_loader_does_not_use_are_never_read(tmp_path: Path):
    # statutaire naam, street, place and phone number stay on disk; the handelsnaam is read,
    # only to store its pseudonymous key
    path = tmp_path / "export.csv"
    path.write_text("Vestigingsnummer;KvK-nummer;Statutaire naam;Handelsnaam;Straatnaam;"
                    "Huisnummer;Postcode;Plaats;Telefoonnummer;SBI-code;Datum vestiging\n"
                    "000012345678;12345678;Jansen Holding B.V.;Kapsalon Jansen;Kadeweg;12;"
                    "7011AB;Havenwaard;0612345678;96021;01-02-2020\n", encoding="utf-8")
    frame, _ = read_extract(path)
    assert set(frame.columns) == {"vestigingsnummer", "kvk_nummer", "handelsnaam", "huisnummer",
                                  "postcode", "sbi_hoofdactiviteit", "datum_aanvang"}


def test_flattened_csv_of_the_api(project: Project, tmp_path: Path):
    records = [_vestiging(1, "96220"), _vestiging(2, "52109")]
    # pandas' json_normalize: dotted object paths, lists kept as Python literals
    normalised = tmp_path / "normalised.csv"
    pd.json_normalize(records).to_csv(normalised, index=False)
    record = project.load_kvk(normalised)
    assert (record.rows_kept, record.rejects) == (2, {})
    assert _stored(project)["branch"].tolist() == ["opslag", "nagel_schoonheid"]
    # indexed flattening (sbiActiviteiten[0].sbiCode, adressen[1].geoData.rijksdriehoekX)
    rows = []
    for r in records:
        visit = r["adressen"][1]
        rows.append({"vestigingsnummer": r["vestigingsnummer"], "kvkNummer": r["kvkNummer"],
                     "materieleRegistratie.datumAanvang": "20110800",
                     "sbiActiviteiten[0].sbiCode": r["sbiActiviteiten"][0]["sbiCode"],
                     "sbiActiviteiten[0].indHoofdactiviteit": "Ja",
                     "adressen[0].type": "correspondentieadres", "adressen[0].postcode": "1000AA",
                     "adressen[1].type": "bezoekadres",
                     "adressen[1].geoData.rijksdriehoekX": str(visit["geoData"]["rijksdriehoekX"]),
                     "adressen[1].geoData.rijksdriehoekY": str(visit["geoData"]["rijksdriehoekY"])})
    indexed = tmp_path / "indexed.csv"
    pd.DataFrame(rows).to_csv(indexed, index=False)
    record = project.load_kvk(indexed, format="kvk-api")
    assert record.rows_kept == 2
    assert record.notes == {"datum_aanvang zonder dag (de 15e genomen)": 2}
    assert set(_stored(project)["start_date"].dt.strftime("%Y-%m-%d")) == {"2011-08-15"}


def test_activity_without_main_flag_and_no_visiting_address(project: Project, tmp_path: Path):
    unflagged = _vestiging(1, "96210")
    for activity in unflagged["sbiActiviteiten"]:
        activity["indHoofdactiviteit"] = "Nee"
    postbox_only = _vestiging(2, "96210")
    postbox_only["adressen"] = postbox_only["adressen"][:1]
    path = tmp_path / "vestigingen.json"
    path.write_text(json.dumps({"vestigingen": [unflagged, postbox_only]}), encoding="utf-8")
    record = project.load_kvk(path, sbi=2025)
    assert record.rows_kept == 1
    assert record.rejects == {"geen coördinaten of bekend BAG-adres": 1}
    assert record.notes == {"geen hoofdactiviteit aangegeven (eerste SBI-code genomen)": 1,
                            "geen bezoekadres": 1}


def test_kvk_selection_export_headers_are_recognised(project: Project, tmp_path: Path,
                                                     demo_sources: Path):
    project.load_bag(demo_sources / "bagadres-full.csv")
    bag = pd.read_csv(demo_sources / "bagadres-full.csv", dtype=str, sep=";").iloc[:2]
    header = ("KvK-nummer;Vestigingsnummer;Handelsnaam;Straatnaam;Huisnummer;"
              "Huisnummertoevoeging;Postcode;Plaats;Rechtsvorm;Datum vestiging;Datum oprichting;"
              "SBI-code hoofdactiviteit;SBI-code nevenactiviteit 1;SBI-code nevenactiviteit 2;"
              "Werkzame personen totaal")
    rows = [f"6875011{i};00003716240{i};Zaak {i};Kadeweg;{b.huisnummer};;{b.postcode};Havenwaard;"
            f"Besloten Vennootschap;01-02-2020;01-01-1999;{sbi};47750;70201;3"
            for i, (b, sbi) in enumerate(zip(bag.itertuples(), ["56.30", "4511"], strict=True))]
    path = tmp_path / "selectie.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="cp1252")
    record = project.load_kvk(path, sbi="2008")
    assert (record.rows_kept, record.rejects) == (2, {})
    stored = _stored(project)
    assert stored["branch"].tolist() == ["autobranche", "horeca"]
    assert set(stored["start_date"].dt.strftime("%Y-%m-%d")) == {"2020-02-01"}  # not oprichting
    assert set(stored["sbi_other"]) == {"47750,70201"}
    assert set(stored["legal_form"]) == {"Besloten Vennootschap"} and set(stored["staff"]) == {3}


def test_open_dataset_is_refused(bare_project: Project, tmp_path: Path):
    path = tmp_path / "hvds.json"
    path.write_text(json.dumps([{"datumAanvang": "20250202", "actief": "J", "rechtsvormCode": "BV",
                                 "postcodeRegio": 10, "lidstaat": "NL", "activiteiten": [
                                     {"sbiCode": "62100", "soortActiviteit": "Hoofdactiviteit"}]}]),
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"hvds\.json: dit is de KVK open dataset "
                                         r"basisbedrijfsgegevens"):
        bare_project.load_kvk(path)


@pytest.mark.parametrize(("name", "text", "fmt", "message"), [
    ("x.json", "[]", "xml", r"onbekend formaat 'xml' voor --format; kies uit auto, kvk-api, sjabloon"),
    ("x.json", "{nee", "auto", r"x\.json: geen geldige JSON"),
    ("x.json", '[{"naam": "x"}]', "auto", r"x\.json: geen vestigingen gevonden"),
    ("x.json", "[]", "sjabloon", r"x\.json: een JSON-bestand heeft --format kvk-api"),
    ("x.csv", "vestigingsnummer;sbi\n1;2\n", "kvk-api", r"x\.csv: geen velden van de KVK API"),
])
def test_format_errors_are_one_dutch_line(bare_project: Project, tmp_path: Path, name: str,
                                          text: str, fmt: str, message: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        bare_project.load_kvk(path, format=fmt)
