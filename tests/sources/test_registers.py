"""Municipal register loaders: templates, value checks, date-range slices, XLSX."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmap.errors import ConfigError, InputError
from riskmap.project import Project
from riskmap.sources._records import _place_by_address
from riskmap.sources.register_kinds import register_kinds, value_lookup


def _meldingen(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"Zaaknummer": z, "Datum": d, "Categorie": c, "Bron": "MMA",
                          "X_RD": "185000,5", "Y_RD": "445000", "Omschrijving": "vrije tekst"}
                         for z, d, c in rows])


def _count(project: Project, kind: str) -> int:
    with project.store(read_only=True) as store:
        return int(store.scalar("SELECT count(*) FROM events WHERE kind = ?", [kind]))


def test_every_kind_has_a_documented_template():
    kinds = register_kinds()
    assert set(kinds) == {"meldingen", "maatregelen", "bibob", "hennep", "controles"}
    for kind in kinds.values():
        assert kind.id_column in kind.required and kind.date_column in kind.required
        assert all(spec.get("doc") for spec in kind.columns.values())


def test_values_are_checked_and_normalised(project: Project, tmp_path: Path):
    frame = _meldingen([("M1", "2025-01-05", "Drugs"), ("M2", "06-01-2025", "Meld Misdaad Anoniem"),
                        ("M3", "2025-01-07", "woonfraude"), ("M4", "gisteren", "drugs"),
                        ("M5", "2025-01-08", "")])
    path = tmp_path / "meldingen.csv"
    frame.to_csv(path, sep=";", index=False)
    record = project.load_register("meldingen", path)
    assert record.rejects == {"ongeldige datum": 1, "onbekende categorie": 1, "lege categorie": 1}
    with project.store(read_only=True) as store:
        stored = store.query("SELECT category, source FROM events ORDER BY date")
    assert stored["category"].tolist() == ["drugs", "adresfraude"]
    assert set(stored["source"]) == {"mma"}


def test_common_spellings_accepted_and_unknown_values_named(project: Project, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture):
    spellings = ["Adres fraude", "adresfraude", "ADRES-FRAUDE", "adres_fraude", "Woonfraude",
                 "Mensen handel", " mensenhandel ", "Mensenhandel", "Illegale prostitutie",
                 "Arbeidsuitbuiting", "fietsendiefstal", "Fietsendiefstal", "Oplichting"]
    rows = [(f"M{i}", "2025-02-01", c) for i, c in enumerate(spellings)]
    path = tmp_path / "meldingen.csv"
    _meldingen(rows).to_csv(path, sep=";", index=False, encoding="cp1252")
    record = project.load_register("meldingen", path)
    assert record.rows_kept == 10 and record.rejects == {"onbekende categorie": 3}
    assert "'fietsendiefstal' (1x)" in caplog.text and "'Oplichting' (1x)" in caplog.text
    with project.store(read_only=True) as store:
        stored = store.query("SELECT category, count(*) AS n FROM events GROUP BY 1")
    assert dict(zip(stored["category"], stored["n"], strict=True)) == {
        "adresfraude": 5, "mensenhandel": 3, "illegale_prostitutie": 1, "uitbuiting": 1}


def test_synonyms_must_name_an_allowed_value():
    spec = {"values": ["drugs"], "synonyms": {"hennep": "drugs", "wiet": "softdrugs"}}
    with pytest.raises(ConfigError, match="synoniem 'wiet' -> 'softdrugs' is geen van de waarden"):
        value_lookup(spec, "registers.yaml: meldingen.categorie")


def test_reload_replaces_only_the_file_date_range(project: Project, tmp_path: Path):
    first = tmp_path / "q1.csv"
    _meldingen([("A", "2025-01-10", "drugs"), ("B", "2025-03-10", "drugs")]).to_csv(first, index=False)
    second = tmp_path / "q2.csv"
    _meldingen([("C", "2025-04-10", "drugs")]).to_csv(second, index=False)
    project.load_register("meldingen", first)
    project.load_register("meldingen", second)
    project.load_register("meldingen", first)  # same slice again: replaced, not doubled
    assert _count(project, "meldingen") == 3
    corrected = tmp_path / "q1b.csv"
    _meldingen([("A", "2025-01-10", "drugs"), ("X", "2025-03-31", "witwassen")]).to_csv(
        corrected, index=False)
    project.load_register("meldingen", corrected)
    assert _count(project, "meldingen") == 3  # Jan..Mar replaced by the corrected export


def test_controles_from_xlsx(project: Project, tmp_path: Path):
    path = tmp_path / "controles.xlsx"
    pd.DataFrame({"Controlenummer": ["IC-1", "IC-2"], "Datum": pd.to_datetime(["2025-02-01"] * 2),
                  "Branche": ["autobranche", "opslag"], "Bevinding": ["Ja", "n"],
                  "X RD": [185_000.0, 185_100.0], "Y RD": [445_000.0, 445_100.0]}).to_excel(path, index=False)
    record = project.load_register("controles", path)
    assert record.rows_kept == 2
    with project.store(read_only=True) as store:
        assert sorted(store.query("SELECT outcome FROM events")["outcome"]) == ["ja", "nee"]


def test_register_errors(project: Project, tmp_path: Path):
    path = tmp_path / "hennep.csv"
    pd.DataFrame({"Zaaknummer": ["H1"], "Datum": ["2025-01-01"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"hennep\.csv: kolom\(men\) ontbreken: locatie, "
                                         r"\(x_rd\+y_rd of lat\+lon of postcode\+huisnummer\)"):
        project.load_register("hennep", path)
    with pytest.raises(InputError, match="onbekend soort register 'boetes'"):
        project.load_register("boetes", path)
    assert _count(project, "hennep") == 0


def test_bag_rejects_bad_addresses(project: Project, tmp_path: Path):
    path = tmp_path / "bag.csv"
    pd.DataFrame({"postcode": ["7000AA", "7000AA", "12", "7000AB"], "huisnummer": ["1", "1", "3", "4"],
                  "gebruiksdoel": ["woonfunctie", "woonfunctie", "woonfunctie", "industriefunctie"],
                  "oppervlakte": ["80", "80", "90", "1200"],
                  "x_rd": ["185000", "185000", "185000", "120000"],
                  "y_rd": ["445000", "445000", "445000", "480000"]}).to_csv(path, index=False)
    record = project.load_bag(path)
    assert record.rejects == {"dubbele regel": 1, "ongeldige postcode of huisnummer": 1,
                              "buiten de gemeente": 1}
    assert record.rows_kept == 1


def test_an_address_stored_twice_places_a_row_by_its_first_row(project: Project):
    with project.store() as store:
        store.con.execute(
            "INSERT INTO addresses (id, use, buurt, wijk, cell500, load_id, analysis_areas) "
            "VALUES ('twice', 'overig', 'BU_FIRST', 'WK_A', 'E1850N4450', 1, ['BT1']), "
            "('once', 'overig', 'BU_ONCE', 'WK_B', NULL, 1, NULL), "
            "('twice', 'overig', 'BU_LATER', 'WK_C', NULL, 1, NULL)")
        areas = pd.DataFrame({"buurt": [None] * 4, "wijk": [None] * 4, "analysis_areas": None,
                              "cell100": None, "cell500": None,
                              "address": ["twice", "none", "once", "twice"]}, dtype=object)
        found = _place_by_address(store, areas, np.array([True, True, True, False]))
    assert found.tolist() == [True, False, True, False]
    assert areas["buurt"].tolist() == ["BU_FIRST", None, "BU_ONCE", None]
    assert areas["wijk"].tolist() == ["WK_A", None, "WK_B", None]
    assert areas["analysis_areas"].tolist() == [["BT1"], None, None, None]
    assert areas["cell500"].iloc[0] == "E1850N4450" and areas["cell500"].iloc[1:].isna().all()
