"""The KvK loader on hand-made extracts: one test per rule of the issue."""

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from pyproj import Transformer

from riskmap.errors import InputError
from riskmap.project import Project

HEADER = ("vestigingsnummer;kvk_nummer;handelsnaam;sbi_hoofdactiviteit;datum_aanvang;datum_einde;"
          "rechtsvorm;werkzame_personen;postcode;huisnummer;x_rd;y_rd")
INSIDE = ("185000,0", "445000,0")  # centre of Havenwaard, decimal commas


def _row(n: int, sbi: str = "4511", x: str = INSIDE[0], y: str = INSIDE[1], name: str = "Garage") -> str:
    return f"{n:012d};{n:08d};{name} {n};{sbi};01-02-2020;;Eenmanszaak;1;7000AA;{n};{x};{y}"


def _write(path: Path, rows: list[str], header: str = HEADER, encoding: str = "utf-8",
           sep: str = ";") -> Path:
    text = "\n".join([header, *rows]).replace(";", sep) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def _store_rows(project: Project, table: str = "establishments") -> int:
    with project.store(read_only=True) as store:
        return int(store.scalar(f"SELECT count(*) FROM {table}"))


def test_good_extract_with_decimal_commas_and_cp1252_names(project: Project, tmp_path: Path):
    path = _write(tmp_path / "kvk.csv", [_row(i, name="Café Brasserie Ökonomie") for i in range(5)],
                  encoding="cp1252")
    record = project.load_kvk(path)
    assert (record.rows_read, record.rows_kept, record.rows_rejected) == (5, 5, 0)
    with project.store(read_only=True) as store:
        stored = store.query("SELECT * FROM establishments")
    assert set(stored["buurt"]) == {"BU99990000"} or stored["buurt"].str.startswith("BU9999").all()
    # names and numbers are not stored; ids are keyed hashes
    text = stored.to_csv()
    assert "Café" not in text and "000000000001" not in text
    assert stored["id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert stored["x"].isna().all()  # coordinates are not kept by default
    with project.store(read_only=True) as store:  # the lineage holds the file's fingerprint
        size, sha = store.con.execute("SELECT size, sha256 FROM loads WHERE source = 'kvk'"
                                      ).fetchone()
    assert (size, sha) == (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())


@pytest.mark.parametrize("sep", [",", "\t", "|"])
def test_other_delimiters(project: Project, tmp_path: Path, sep: str):
    rows = [_row(i).replace(",", ".") for i in range(3)]
    record = project.load_kvk(_write(tmp_path / "kvk.csv", rows, sep=sep))
    assert record.rows_kept == 3


def test_wrong_delimiter_is_one_line_error_and_nothing_written(project: Project, tmp_path: Path):
    path = _write(tmp_path / "kvk.csv", [_row(1)], sep=":")
    with pytest.raises(InputError, match=r"kvk\.csv: maar één kolom gevonden"):
        project.load_kvk(path)
    assert _store_rows(project) == 0


def test_missing_column_names_file_and_columns(project: Project, tmp_path: Path):
    header = HEADER.replace("sbi_hoofdactiviteit;", "").replace("datum_aanvang;", "")
    rows = ["1;2;Naam;;Eenmanszaak;1;7000AA;1;185000;445000;x"]
    with pytest.raises(InputError, match=r"kvk\.csv: kolom\(men\) ontbreken: sbi_hoofdactiviteit, "
                                         r"datum_aanvang"):
        project.load_kvk(_write(tmp_path / "kvk.csv", rows, header=header))
    assert _store_rows(project) == 0


def test_empty_file(project: Project, tmp_path: Path):
    (tmp_path / "kvk.csv").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match=r"kvk\.csv: het bestand is leeg"):
        project.load_kvk(tmp_path / "kvk.csv")


def test_duplicates_unknown_sbi_and_leading_zero(project: Project, tmp_path: Path):
    rows = [_row(1), _row(1), _row(2, sbi="99999"), _row(3, sbi="111"), _row(4),
            _row(4).replace("Garage 4", "Garage vier")]
    record = project.load_kvk(_write(tmp_path / "kvk.csv", rows))
    assert record.rejects == {"dubbele regel": 1, "onbekende SBI-code (SBI 2008)": 1,
                              "dubbel vestigingsnummer": 1}
    assert record.notes == {"SBI-code aangevuld met voorloopnul": 1}
    with project.store(read_only=True) as store:
        stored = store.query("SELECT sbi, sbi_original, sbi_version FROM establishments ORDER BY sbi")
    assert stored["sbi"].tolist() == ["0111", "4511", "4511"]
    assert stored["sbi_original"].tolist() == ["111", "4511", "4511"]
    assert set(stored["sbi_version"]) == {2008}


def test_swapped_coordinates_and_lat_lon_columns(project: Project, tmp_path: Path):
    swapped = [_row(1, x=INSIDE[1], y=INSIDE[0])]
    assert project.load_kvk(_write(tmp_path / "a.csv", swapped)).rows_kept == 1
    lon, lat = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True).transform(185_000, 445_000)
    header = HEADER.replace("x_rd;y_rd", "lat;lon")
    rows = [_row(i, x=f"{lat:.6f}".replace(".", ","), y=f"{lon:.6f}".replace(".", ",")) for i in (7, 8)]
    record = project.load_kvk(_write(tmp_path / "b.csv", rows, header=header))
    assert record.rows_kept == 2
    with project.store(read_only=True) as store:
        assert store.scalar("SELECT count(DISTINCT buurt) FROM establishments") == 1


def test_points_outside_and_unplaceable_are_counted(project: Project, tmp_path: Path):
    rows = [_row(1), _row(2, x="120000", y="480000"), _row(3, x="", y="")]
    record = project.load_kvk(_write(tmp_path / "kvk.csv", rows))
    assert record.rejects == {"buiten de gemeente": 1, "geen coördinaten of bekend BAG-adres": 1}
    assert record.rows_kept == 1


def test_establishments_outside_are_neither_stored_nor_changes(project: Project, tmp_path: Path):
    """Two extracts in which an establishment that stays and one that moves out of the gemeente
    change their name: only the one inside is stored then, and only its change recorded."""
    far = {"x": "120000", "y": "480000"}
    project.load_kvk(_write(tmp_path / "kvk_1.csv", [_row(1), _row(2), _row(3)]))
    record = project.load_kvk(_write(tmp_path / "kvk_2.csv", [
        _row(1, name="Autobedrijf"), _row(2), _row(3, name="Autobedrijf", **far)]))
    assert record.rows_kept == 2 and record.rejects == {"buiten de gemeente": 1}
    with project.store(read_only=True) as store:
        kept = set(store.query("SELECT id FROM establishments")["id"])
        changes = store.query("SELECT id, kind FROM establishment_changes")
    assert len(kept) == 2
    assert changes["kind"].tolist() == ["naam"] and set(changes["id"]) <= kept


def test_address_only_rows_placed_through_bag(project: Project, tmp_path: Path, demo_sources: Path):
    project.load_bag(demo_sources / "bagadres-full.csv")
    bag = pd.read_csv(demo_sources / "bagadres-full.csv", sep=";", dtype=str).iloc[10]
    row = f"000000000042;00000042;Zaak;4511;01-02-2020;;BV;2;{bag.postcode};{bag.huisnummer};;"
    record = project.load_kvk(_write(tmp_path / "kvk.csv", [row, _row(7)]))
    assert record.rows_kept == 2
    with project.store(read_only=True) as store:
        placed = store.query("SELECT e.buurt, e.wijk, e.cell500, a.buurt AS bag_buurt, a.wijk "
                             "AS bag_wijk, a.cell500 AS bag_cell500 FROM establishments e JOIN "
                             "addresses a ON a.id = e.address WHERE e.id = (SELECT id FROM "
                             "establishments ORDER BY staff DESC LIMIT 1)")
        by_xy = store.query("SELECT buurt FROM establishments WHERE staff = 1")
    # the address row has its BAG address's areas, the other its own (codes, not numbers)
    assert placed.iloc[0].tolist()[:3] == placed.iloc[0].tolist()[3:]
    assert placed["buurt"].iloc[0].startswith("BU") and by_xy["buurt"].iloc[0].startswith("BU")


def test_mapping_file_renames_headers(project: Project, tmp_path: Path):
    header = HEADER.replace("vestigingsnummer", "Vestigingsnr").replace("sbi_hoofdactiviteit", "SBI")
    path = _write(tmp_path / "kvk.csv", [_row(1)], header=header)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("vestigingsnummer: Vestigingsnr\nsbi_hoofdactiviteit: SBI\n", encoding="utf-8")
    assert project.load_kvk(path, mapping=mapping).rows_kept == 1
    mapping.write_text("vestigingsnummer: Bestaat niet\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"uit de mapping niet in het bestand: bestaat_niet"):
        project.load_kvk(path, mapping=mapping)


def test_reload_replaces_extract(project: Project, tmp_path: Path):
    path = _write(tmp_path / "kvk.csv", [_row(i) for i in range(4)])
    project.load_kvk(path)
    project.load_kvk(path)
    assert _store_rows(project) == 4


# --- both SBI versions, placeholders and partial dates ---------------------------------------
# The same establishments as the KvK registered them before and after its conversion to SBI 2025
# (5-7 September 2025); every pair is a link of Eurostat's NACE Rev. 2 -> Rev. 2.1 table.
SAME = [("56101", "56111"), ("5630", "56300"), ("96021", "96210"), ("96022", "96220"),
        ("4511", "47810"), ("4511", "46710"), ("4520", "95311"), ("68203", "68202"),
        ("68204", "68203"), ("5210", "52109"), ("66193", "66199"), ("7830", "78201"),
        ("6201", "62100"), ("4120", "41000"), ("0111", "01110"), ("68201", "68201")]
SBI_HEADER = HEADER.replace("rechtsvorm", "peildatum;rechtsvorm")


def _sbi_row(n: int, sbi: str, start: str = "01-02-2020", end: str = "", peil: str = "") -> str:
    return f"{n:012d};{n:08d};Zaak {n};{sbi};{start};{end};{peil};BV;2;7000AA;{n};{INSIDE[0]};{INSIDE[1]}"


def _load_codes(project: Project, path: Path, codes: list[str], peil: str = "",
                **options: object) -> pd.DataFrame:
    rows = [_sbi_row(i, code, peil=peil) for i, code in enumerate(codes)]
    project.load_kvk(_write(path, rows, header=SBI_HEADER), **options)
    with project.store(read_only=True) as store:
        return store.query("SELECT * FROM establishments ORDER BY rowid")


def _by_establishment(project: Project) -> pd.DataFrame:
    with project.store(read_only=True) as store:
        return store.query("SELECT id, sbi, sbi_original, sbi_version, branch, section "
                           "FROM establishments ORDER BY id")


def test_sbi_2008_and_2025_extracts_of_the_same_establishments_give_the_same_branches(
        project: Project, tmp_path: Path):
    rows_2008 = [_sbi_row(i, old) for i, (old, _) in enumerate(SAME)]
    rows_2025 = [_sbi_row(i, new) for i, (_, new) in enumerate(SAME)]
    record = project.load_kvk(_write(tmp_path / "kvk_2024.csv", rows_2008, header=SBI_HEADER))
    assert record.rows_kept == len(SAME)
    before = _by_establishment(project)
    record = project.load_kvk(_write(tmp_path / "kvk_2026.csv", rows_2025, header=SBI_HEADER))
    assert record.rows_kept == len(SAME)
    after = _by_establishment(project)
    assert set(before["sbi_version"]) == {2008} and set(after["sbi_version"]) == {2025}
    pd.testing.assert_frame_equal(before[["id", "branch", "section"]],
                                  after[["id", "branch", "section"]])
    assert after["branch"].notna().sum() == 12
    assert set(after["section"]) == {"I", "T", "G", "M", "H", "L", "O", "K", "F", "A"}


def test_version_from_peildatum_explicit_option_or_codes(project: Project, tmp_path: Path):
    # a peildatum after the conversion: SBI 2025, and the one SBI 2008-only code is rejected
    record = project.load_kvk(_write(tmp_path / "a.csv", [
        _sbi_row(1, "56300", peil="31-12-2025"), _sbi_row(2, "56101", peil="31-12-2025")],
        header=SBI_HEADER))
    assert record.rejects == {"onbekende SBI-code (SBI 2025)": 1}
    # codes that exist in both lists are read in the version given
    codes = ["78201", "53202", "68203"]
    assert set(_load_codes(project, tmp_path / "b.csv", codes, sbi=2025)["sbi_version"]) == {2025}
    assert _load_codes(project, tmp_path / "b.csv", codes, peil="01-06-2024")["branch"].tolist() \
        == ["uitzendbureaus", "transport", "vastgoed"]
    # without a date, codes that only SBI 2025 has decide
    assert set(_load_codes(project, tmp_path / "c.csv", ["78201", "56300"])["sbi_version"]) == {2025}


@pytest.mark.parametrize(("codes", "peil", "message"), [
    (["4511", "56300"], "", r"SBI-codes uit beide versies \(alleen SBI 2008: 4511; alleen SBI "
                            r"2025: 56300\) en geen peildatum; geef --sbi 2008 of --sbi 2025"),
    (["78201", "53202"], "", r"niet af te leiden of dit SBI 2008 of SBI 2025 is; geef --sbi"),
    (["4511", "5630"], "30-09-2025", r"de peildatum 30-09-2025 wijst op SBI 2025, maar de "
                                     r"SBI-codes passen alleen in SBI 2008 \(bijv\. 4511, 5630\)"),
    (["78201"], "06-09-2025", r"niet af te leiden"),  # during the conversion weekend
])
def test_undecidable_version_is_refused_with_one_line(bare_project: Project, tmp_path: Path,
                                                      codes: list[str], peil: str, message: str):
    with pytest.raises(InputError, match=message):
        _load_codes(bare_project, tmp_path / "kvk.csv", codes, peil=peil)
    assert _store_rows(bare_project) == 0


def test_bad_sbi_option(bare_project: Project, tmp_path: Path):
    with pytest.raises(InputError, match=r"^--sbi moet 2008 of 2025 zijn, niet '2015'$"):
        _load_codes(bare_project, tmp_path / "kvk.csv", ["56300"], sbi="2015")


def test_placeholder_codes_are_kept_and_counted(project: Project, tmp_path: Path):
    codes = ["0001", "2", "00002", "96210", "", "12345"]
    record = project.load_kvk(_write(tmp_path / "kvk.csv", [_sbi_row(i, c) for i, c in
                                                            enumerate(codes)], header=SBI_HEADER))
    assert record.rows_kept == 4
    assert record.rejects == {"geen SBI-code": 1, "onbekende SBI-code (SBI 2025)": 1}
    assert record.notes == {"SBI-code nog niet vastgesteld (0001)": 1,
                            "geen bedrijfsactiviteit (0002)": 2}
    stored = _by_establishment(project).set_index("sbi_original")
    assert stored.loc[["0001", "2", "00002"], ["sbi", "branch", "section"]].isna().all().all()
    assert stored.loc["96210", "branch"] == "kapsalons"


# start, end -> stored start, stored end
PARTIAL = [("19950000", "", "1995-07-01", None), ("20110800", "", "2011-08-15", None),
           ("00-08-2011", "", "2011-08-15", None),
           # an imputed date never passes the other date: start within 2011, on or before the end
           ("20110000", "01-03-2011", "2011-03-01", "2011-03-01"),
           ("20-03-2011", "20110300", "2011-03-20", "2011-03-20")]


def test_partial_dates_are_imputed_and_counted(project: Project, tmp_path: Path):
    rows = [_sbi_row(i, "96210", start, end) for i, (start, end, _, _) in enumerate(PARTIAL)]
    record = project.load_kvk(_write(tmp_path / "kvk.csv", rows, header=SBI_HEADER))
    assert record.rows_kept == len(PARTIAL)
    assert record.notes == {"datum_aanvang zonder maand en dag (1 juli genomen)": 2,
                            "datum_aanvang zonder dag (de 15e genomen)": 2,
                            "datum_einde zonder dag (de 15e genomen)": 1}
    with project.store(read_only=True) as store:
        dates = store.query("SELECT strftime(start_date, '%Y-%m-%d') AS s, "
                            "coalesce(strftime(end_date, '%Y-%m-%d'), '') AS e FROM establishments "
                            "ORDER BY rowid")
    assert list(dates.itertuples(index=False, name=None)) == [(s, e or "") for _, _, s, e in PARTIAL]


def test_impossible_partial_dates_are_rejected(project: Project, tmp_path: Path):
    rows = [_sbi_row(1, "96210", "20111300"), _sbi_row(2, "96210", "20110000", "31-12-2010"),
            _sbi_row(3, "96210")]
    record = project.load_kvk(_write(tmp_path / "kvk.csv", rows, header=SBI_HEADER))
    assert record.rejects == {"ongeldige datum_aanvang": 1, "datum_einde voor datum_aanvang": 1}


def test_numbers_that_lost_leading_zeros_get_the_same_pseudonym(project: Project, tmp_path: Path):
    ids = []
    for number in ("000037162403", "37162403"):  # as delivered, and after a spreadsheet
        row = _sbi_row(1, "96210").replace("000000000001;00000001", f"{number};{number[-8:]}", 1)
        project.load_kvk(_write(tmp_path / "kvk.csv", [row], header=SBI_HEADER))
        ids.append(_by_establishment(project)["id"].iloc[0])
    assert ids[0] == ids[1]
