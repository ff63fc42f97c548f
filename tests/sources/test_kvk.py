"""The KvK loader on hand-made extracts: one test per rule of the issue."""

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


@pytest.mark.parametrize("sep", [",", "\t", "|"])
def test_other_delimiters(project: Project, tmp_path: Path, sep: str):
    rows = [_row(i).replace(",", ".") for i in range(3)]
    record = project.load_kvk(_write(tmp_path / "kvk.csv", rows, sep=sep))
    assert record.rows_kept == 3


def test_wrong_delimiter_is_one_line_error_and_nothing_written(project: Project, tmp_path: Path):
    path = _write(tmp_path / "kvk.csv", [_row(1)], sep=":")
    with pytest.raises(InputError, match=r"kvk\.csv: found one column only"):
        project.load_kvk(path)
    assert _store_rows(project) == 0


def test_missing_column_names_file_and_columns(project: Project, tmp_path: Path):
    header = HEADER.replace("sbi_hoofdactiviteit;", "").replace("datum_aanvang;", "")
    rows = ["1;2;Naam;;Eenmanszaak;1;7000AA;1;185000;445000;x"]
    with pytest.raises(InputError, match=r"kvk\.csv: missing column\(s\) sbi_hoofdactiviteit, "
                                         r"datum_aanvang"):
        project.load_kvk(_write(tmp_path / "kvk.csv", rows, header=header))
    assert _store_rows(project) == 0


def test_empty_file(project: Project, tmp_path: Path):
    (tmp_path / "kvk.csv").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match=r"kvk\.csv: the file is empty"):
        project.load_kvk(tmp_path / "kvk.csv")


def test_duplicates_unknown_sbi_and_leading_zero(project: Project, tmp_path: Path):
    rows = [_row(1), _row(1), _row(2, sbi="99999"), _row(3, sbi="111"), _row(4),
            _row(4).replace("Garage 4", "Garage vier")]
    record = project.load_kvk(_write(tmp_path / "kvk.csv", rows))
    assert record.rejects == {"dubbele regel": 1, "onbekende SBI-code": 1,
                              "dubbel vestigingsnummer": 1}
    with project.store(read_only=True) as store:
        assert sorted(store.query("SELECT sbi FROM establishments")["sbi"]) == ["0111", "4511", "4511"]


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


def test_address_only_rows_placed_through_bag(project: Project, tmp_path: Path, demo_sources: Path):
    project.load_bag(demo_sources / "bagadres-full.csv")
    bag = pd.read_csv(demo_sources / "bagadres-full.csv", sep=";", dtype=str).iloc[10]
    row = f"000000000042;00000042;Zaak;4511;01-02-2020;;BV;2;{bag.postcode};{bag.huisnummer};;"
    record = project.load_kvk(_write(tmp_path / "kvk.csv", [row]))
    assert record.rows_kept == 1


def test_mapping_file_renames_headers(project: Project, tmp_path: Path):
    header = HEADER.replace("vestigingsnummer", "Vestigingsnr").replace("sbi_hoofdactiviteit", "SBI")
    path = _write(tmp_path / "kvk.csv", [_row(1)], header=header)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("vestigingsnummer: Vestigingsnr\nsbi_hoofdactiviteit: SBI\n", encoding="utf-8")
    assert project.load_kvk(path, mapping=mapping).rows_kept == 1
    mapping.write_text("vestigingsnummer: Bestaat niet\n", encoding="utf-8")
    with pytest.raises(InputError, match="mapped column"):
        project.load_kvk(path, mapping=mapping)


def test_reload_replaces_extract(project: Project, tmp_path: Path):
    path = _write(tmp_path / "kvk.csv", [_row(i) for i in range(4)])
    project.load_kvk(path)
    project.load_kvk(path)
    assert _store_rows(project) == 4
