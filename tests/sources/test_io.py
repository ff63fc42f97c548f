from datetime import date, datetime, time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from riskmap.errors import InputError
from riskmap.sources import _io
from riskmap.sources._io import (
    header_of,
    normalise_header,
    parse_dates,
    parse_numbers,
    read_table,
    require_columns,
)


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("sep", [";", ",", "\t", "|"])
def test_delimiters_are_detected(tmp_path: Path, sep: str):
    path = _write(tmp_path / "f.csv", f"Post code{sep}Huisnummer\n1234AB{sep}5\n")
    frame = read_table(path)
    assert list(frame.columns) == ["post_code", "huisnummer"]
    assert frame.iloc[0].tolist() == ["1234AB", "5"]


def test_utf8_bom_and_cp1252(tmp_path: Path):
    bom = read_table(_write(tmp_path / "a.csv", "naam;x\nCafé;1\n", "utf-8-sig"))
    cp = read_table(_write(tmp_path / "b.csv", "naam;x\nCafé Ökonomie;1\n", "cp1252"))
    assert list(bom.columns) == ["naam", "x"]
    assert cp["naam"].iloc[0] == "Café Ökonomie"


def test_unreadable_files_fail_with_one_line(tmp_path: Path):
    with pytest.raises(InputError, match=r"missing\.csv: bestand niet gevonden"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(InputError, match=r"empty\.csv: het bestand is leeg"):
        read_table(_write(tmp_path / "empty.csv", "\n\n"))
    with pytest.raises(InputError, match=r"header\.csv: het bestand heeft een kopregel maar geen rijen"):
        read_table(_write(tmp_path / "header.csv", "a;b\n"))
    with pytest.raises(InputError, match=r"colon\.csv: maar één kolom gevonden"):
        read_table(_write(tmp_path / "colon.csv", "a:b:c\n1:2:3\n"))
    with pytest.raises(InputError, match=r"f\.json: bestandstype '\.json' wordt niet gelezen"):
        read_table(_write(tmp_path / "f.json", "{}"))
    with pytest.raises(InputError, match=r"broken\.xlsx: niet te lezen als XLSX"):
        read_table(_write(tmp_path / "broken.xlsx", "not a zip"))


@pytest.mark.parametrize(("text", "message"), [
    ("a;b\n1;2\n3;4\n5;6;7\n", r"niet te lezen als CSV \(regel 4 heeft 3 velden, de kopregel 2\)"),
    ('a;b\n1;2\n"3;4\n5;6\n', r"niet te lezen als CSV \(een aanhalingsteken in regel 3 wordt "
                              r"nergens gesloten\)"),
])
def test_csv_parser_problems_are_said_in_dutch_with_the_line(tmp_path: Path, text: str,
                                                             message: str):
    with pytest.raises(InputError, match=message):
        read_table(_write(tmp_path / "f.csv", text))


def test_xlsx_is_read_as_text(tmp_path: Path):
    path = tmp_path / "f.xlsx"
    pd.DataFrame({"Datum": pd.to_datetime(["2025-01-02"]), "Aantal": [3]}).to_excel(path, index=False)
    frame = read_table(path)
    assert frame["aantal"].iloc[0] == "3"
    assert parse_dates(frame["datum"]).iloc[0] == pd.Timestamp("2025-01-02")


def test_xlsx_cells_of_every_kind_read_as_openpyxl_reads_them(tmp_path: Path):
    """The sheet is read by calamine; each kind of cell gives the text openpyxl's reading
    gave (the reader before): text with leading zeros and spaces, whole and decimal numbers,
    dates with and without a time, times, booleans, formulas without a cached value, empty."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["zaaknummer", "datum", "tijd", "bedrag", "vlag", "tekst", "formule", "leeg"])
    sheet.append(["000123", date(2024, 1, 5), datetime(2024, 1, 5, 13, 45), 12.5, True, "  a ",
                  "=1+2", None])
    sheet.append([123, datetime(2024, 2, 29), time(8, 30), 3, False, "é€", "=NA()", ""])
    sheet.append([1e20, 45321, 0.5, -0.0, None, "1.0", None, None])
    path = tmp_path / "soorten.xlsx"
    book.save(path)
    frame = read_table(path)
    before = pd.read_excel(path, dtype=str, engine="openpyxl").fillna("")
    assert frame.to_numpy().tolist() == before.map(str.strip).to_numpy().tolist()
    assert frame["zaaknummer"].tolist() == ["000123", "123", "100000000000000000000"]
    assert frame["datum"].tolist()[:2] == ["2024-01-05 00:00:00", "2024-02-29 00:00:00"]


def test_require_columns_names_file_and_missing(tmp_path: Path):
    frame = pd.DataFrame({"a": [1], "postcode": [2]})
    with pytest.raises(InputError, match=r"f\.csv: kolom\(men\) ontbreken: b, \(x_rd\+y_rd of lat\+lon\)"):
        require_columns(frame, ["a", "b"], tmp_path / "f.csv",
                        alternatives=[("x_rd", "y_rd"), ("lat", "lon")])


def test_numbers_with_decimal_comma_and_thousands():
    values = pd.Series(["155123,45", "1.234,5", "463200.5", "", "abc", "-3,2"])
    parsed = parse_numbers(values)
    assert parsed.iloc[:3].tolist() == [155123.45, 1234.5, 463200.5]
    assert parsed.iloc[3:5].isna().all()
    assert parsed.iloc[5] == -3.2


def test_dates_in_dutch_forms():
    values = pd.Series(["2025-03-31", "31-03-2025", "31/03/2025", "20250331", "", "32-13-2025"])
    parsed = parse_dates(values)
    assert (parsed.iloc[:4] == pd.Timestamp("2025-03-31")).all()
    assert parsed.iloc[4:].isna().all()


def test_header_normalisation():
    assert normalise_header(" SBI hoofd-activiteit ") == "sbi_hoofd_activiteit"
    assert normalise_header("Coördinaat X (RD)") == "coordinaat_x_rd"


def test_padded_cells_are_stripped(tmp_path: Path):
    frame = read_table(_write(tmp_path / "f.csv", 'a;b;c\n x ;"y ";z\n'))
    assert frame.iloc[0].tolist() == ["x", "y", "z"]
    clean = read_table(_write(tmp_path / "g.csv", "a;b\nx y;z\n"))
    assert clean.iloc[0].tolist() == ["x y", "z"]


READ_BOTH_WAYS = [
    ("a;b;c\n x;y ;\n;\tz;w\n;;\n", "utf-8"),  # padded at either end, tabs, empty values
    ("a;b\n1;x y\n2;\"x;\ny\"\n3;Caf\u00e9 \u20ac\n", "cp1252"),  # quoted break, € late
    ("a;b\n1;Caf\u00e9\n", "utf-8-sig"),
]


@pytest.mark.parametrize("block", [1, 2, 3, 5, 1 << 23])
def test_arrow_reads_as_pandas_whatever_the_blocks_the_file_is_scanned_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int):
    monkeypatch.setattr(_io, "BLOCK", block)
    for number, (text, encoding) in enumerate(READ_BOTH_WAYS):
        path = _write(tmp_path / f"{number}.csv", text, encoding)
        arrow = _io._read_with_arrow(path, _io._scan(path))
        assert arrow is not None
        pandas = _io._read_with_pandas(path.read_bytes(), path)
        assert arrow.astype(str).to_dict("list") == pandas.astype(str).to_dict("list")
    # a blank before a quote, wherever the blocks split: pandas reads it (it skips the blank)
    quoted = _write(tmp_path / "q.csv", 'a;b\n1; "x"\n2; "y"\n')
    assert _io._scan(quoted).blank_quote
    assert read_table(quoted)["b"].tolist() == ["x", "y"]


@pytest.mark.parametrize(("late", "encoding", "options", "value"), [
    ('9;"x;\ny"\n', "utf-8", (True, False, "utf8"), "x;\ny"),  # a quoted line break
    ("9;Caf\u00e9 \u20ac\n", "cp1252", (False, False, "cp1252"), "Caf\u00e9 \u20ac"),
    ("9;Caf\u00e9\n", "utf-8", (False, False, "utf8"), "Caf\u00e9"),
    ('9; "y"\n', "utf-8", (True, True, "utf8"), "y"),  # a blank before a quote
])
def test_what_comes_after_the_first_64_kib_is_read_as_the_whole_file_says(
        tmp_path: Path, late: str, encoding: str, options: tuple[bool, bool, str], value: str):
    """Arrow reads a file as its head suggests while the whole file is scanned: what only
    comes later (a quote, other bytes) makes it read again, as pandas reads it."""
    text = "a;b\n" + "".join(f"{i};waarde {i}\n" for i in range(8_000)) + late
    path = _write(tmp_path / "late.csv", text, encoding)
    assert path.stat().st_size > 2 * _io.PREFIX
    head, scan = _io._scan_head(path), _io._scan(path)
    assert head.options == (False, False, "utf8") and scan.options == options
    frame = read_table(path)
    pandas = _io._read_with_pandas(path.read_bytes(), path)
    assert frame.astype(str).to_dict("list") == pandas.astype(str).to_dict("list")
    assert frame["b"].iloc[-1] == value and len(frame) == 8_001


@pytest.mark.parametrize("text", [
    "Naam;Straat;Post code\nA;Kade 1;1234AB\n",
    'Naam;Straat;Post code\nA; "Kade 1";1234AB\n',  # read by pandas (a blank before a quote)
])
def test_only_the_columns_asked_for_are_read(tmp_path: Path, text: str):
    frame = read_table(_write(tmp_path / "f.csv", text), keep=lambda header: ["post_code"])
    assert list(frame.columns) == ["post_code"]
    assert frame["post_code"].tolist() == ["1234AB"]
    assert header_of(frame) == ["naam", "straat", "post_code"]


def test_data_under_a_blank_header_is_refused_also_when_not_asked_for(tmp_path: Path):
    path = _write(tmp_path / "f.csv", "Datum;Naam;;Categorie\n2025-01-01;A;x;drugs\n")
    with pytest.raises(InputError, match="kolom C heeft gegevens maar geen kop"):
        read_table(path, keep=lambda header: ["datum", "categorie"])


@pytest.mark.parametrize(("text", "message"), [
    ("Datum;Categorie;datum \n2025-01-01;drugs;2025-01-02\n",
     "kolomkop 'datum' komt twee keer voor \\(kolom A en C\\)"),
    ("Datum;;Categorie\n2025-01-01;x;drugs\n", "kolom B heeft gegevens maar geen kop"),
])
def test_repeated_or_blank_headers_are_refused(tmp_path: Path, text: str, message: str):
    with pytest.raises(InputError, match=message):
        read_table(_write(tmp_path / "f.csv", text))


def test_blank_header_over_an_empty_column_is_dropped(tmp_path: Path):
    frame = read_table(_write(tmp_path / "f.csv", "Datum;;Categorie;\n2025-01-01;;drugs;\n"))
    assert list(frame.columns) == ["datum", "categorie"]


def test_merged_xlsx_header_cell_is_refused(tmp_path: Path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Zaaknummer", "Datum", None, "Categorie"])
    sheet.append(["M1", "2025-01-01", "09:00", "drugs"])
    sheet.merge_cells("B1:C1")
    book.save(tmp_path / "f.xlsx")
    with pytest.raises(InputError, match="samengevoegde kopcel B1:C1"):
        read_table(tmp_path / "f.xlsx")
    sheet.unmerge_cells("B1:C1")
    sheet["C1"] = "Tijd"
    book.save(tmp_path / "f.xlsx")
    assert list(read_table(tmp_path / "f.xlsx").columns) == ["zaaknummer", "datum", "tijd",
                                                             "categorie"]


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_padded_values_are_found_in_either_kind_of_string_column(kind: pa.DataType):
    def column(*chunks: list[str]) -> pa.ChunkedArray:
        return pa.chunked_array([pa.array(chunk, kind) for chunk in chunks], kind)
    assert not _io._padded(column(["a", "b c", ""], ["d"]))
    assert _io._padded(column(["a", "b"], ["c", "d "]))
    assert _io._padded(column(["", "\tx"]))
    assert not _io._padded(pa.chunked_array([pa.array(["x ", "y", "z"], kind)[1:]], kind))


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_arrow_dates_are_the_days_python_gives(unit: str):
    times = pd.Series(pd.to_datetime(["2024-03-31 23:59:59", None, "1999-01-01 00:00:00",
                                      "2024-02-29 12:00:00"])
                      .astype(f"datetime64[{unit}]"), index=[3, 1, 4, 1])
    if unit != "ns":  # a far end date of some extracts, beyond what nanoseconds hold
        times.iloc[2] = pd.Timestamp("9999-12-31").as_unit(unit)
    found = _io.arrow_dates(times)
    assert found.index.equals(times.index) and str(found.dtype) == "date32[day][pyarrow]"
    assert [None if pd.isna(d) else d for d in found] == \
        [None if pd.isna(t) else t.date() for t in times]
