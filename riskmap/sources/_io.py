"""Reading source files the way municipalities get them.

CSV with ``,`` or ``;`` (and tab or ``|``), UTF-8 with or without BOM or cp1252, decimal commas;
XLSX; GeoPackage, GeoJSON and Shapefile. Values are read as text and parsed column by column, so
a bad cell is rejected with its reason instead of silently becoming 0 or NaN.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
from openpyxl import load_workbook

from riskmap.errors import InputError

TABULAR_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
GEO_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp"}
_DELIMITERS = [";", ",", "\t", "|"]


def normalise_header(name: object) -> str:
    """A column name as a key: lower case, no accents, words joined by ``_``."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9a-zA-Z]+", "_", text.strip().lower()).strip("_")


def _decode(raw: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: niet te lezen als UTF-8 of cp1252; sla het op als CSV (UTF-8)")


_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def _csv_problem(exc: Exception) -> str:
    """The CSV reader's complaint in Dutch (its own words when it is not one we know)."""
    text = str(exc).strip()
    if found := _FIELDS.search(text):
        expected, line, seen = found.groups()
        return f"regel {line} heeft {seen} velden, de kopregel {expected}"
    if found := _OPEN_QUOTE.search(text):  # pandas counts rows from 0 at the header
        return f"een aanhalingsteken in regel {int(found.group(1)) + 1} wordt nergens gesloten"
    return text.splitlines()[0] if text else type(exc).__name__


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        return max(_DELIMITERS, key=header.count)


def read_csv_text(path: Path) -> pd.DataFrame:
    """Read a delimited text file as strings, detecting encoding and delimiter."""
    raw = path.read_bytes()
    text = _decode(raw, path)
    if not text.strip():
        raise InputError(f"{path}: het bestand is leeg")
    delimiter = _sniff_delimiter(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            skipinitialspace=True, engine="c")
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"{path}: niet te lezen als CSV ({_csv_problem(exc)})") from exc
    if len(frame.columns) == 1 and delimiter not in text.splitlines()[0]:
        raise InputError(f"{path}: maar één kolom gevonden; verwacht velden gescheiden door "
                         f"';' of ','")
    # pandas renames repeated headers (datum, datum.1): take the header as written
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    if len(header) == len(frame.columns):
        frame.columns = header
    # leading blanks are skipped while parsing; strip the rest only where the text has any,
    # because stripping every cell of a 10-million-row file costs more than reading it
    padded = re.compile(rf'[ \t]+(?:{re.escape(delimiter)}|\r?\n|$|")|"[ \t]')
    return _strip(frame) if padded.search(text) else frame


def _strip(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda s: s.astype(str).str.strip())


def read_table(path: str | Path, sheet: str | int = 0) -> pd.DataFrame:
    """Read a CSV or XLSX file into a DataFrame of strings with normalised headers.

    Raises
    ------
    InputError
        If the file is missing, empty, of an unknown type or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: bestand niet gevonden")
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"}:
        frame = read_csv_text(path)
    elif suffix in {".xlsx", ".xlsm"}:
        frame = _read_xlsx(path, sheet)
    else:
        raise InputError(f"{path}: bestandstype {suffix!r} wordt niet gelezen; gebruik CSV of XLSX")
    return _with_header(frame, path)


def _read_xlsx(path: Path, sheet: str | int) -> pd.DataFrame:
    try:
        frame = pd.read_excel(path, sheet_name=sheet, dtype=str, engine="openpyxl", header=None)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise InputError(f"{path}: niet te lezen als XLSX ({str(exc).splitlines()[0]})") from exc
    if frame.empty:
        raise InputError(f"{path}: het bestand is leeg")
    header = ["" if pd.isna(c) else str(c) for c in frame.iloc[0]]
    if any(not h.strip() for h in header):
        _refuse_merged_header(path, sheet)
    frame = _strip(frame.iloc[1:].fillna("")).reset_index(drop=True)
    frame.columns = header
    return frame


def _refuse_merged_header(path: Path, sheet: str | int) -> None:
    """Refuse merged cells in the header row: their columns would lose their heading."""
    book = load_workbook(path)
    try:
        sheet_obj = book[sheet] if isinstance(sheet, str) else book.worksheets[sheet]
        merged = [str(r) for r in sheet_obj.merged_cells.ranges
                  if r.min_row == 1 and r.max_col > r.min_col]
    finally:
        book.close()
    if merged:
        raise InputError(f"{path}: samengevoegde kopcel {', '.join(merged)}; geef elke kolom "
                         f"een eigen kop")


def refuse_repeated_headers(columns: Sequence[str], path: Path, when: str = "") -> None:
    """Refuse a header that names one column twice (after normalising): which one is meant
    cannot be told."""
    seen: dict[str, int] = {}
    for number, name in enumerate(columns, start=1):
        if name and name in seen:
            raise InputError(f"{path}: kolomkop {name!r} komt {when}twee keer voor (kolom "
                             f"{_letters(seen[name])} en {_letters(number)}); hernoem of "
                             f"verwijder er een")
        seen.setdefault(name, number)


def _letters(number: int) -> str:
    """A column number as a spreadsheet column (1 -> A, 28 -> AB)."""
    text = ""
    while number:
        number, rest = divmod(number - 1, 26)
        text = chr(65 + rest) + text
    return text


def _with_header(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Normalised headers; refuse repeated headers and data under a blank header."""
    names = [normalise_header(c) for c in frame.columns]
    refuse_repeated_headers(names, path)
    for number, name in enumerate(names, start=1):
        if not name and not blank(frame.iloc[:, number - 1]).all():
            raise InputError(f"{path}: kolom {_letters(number)} heeft gegevens maar geen kop; "
                             f"geef de kolom een kop of verwijder hem")
    frame.columns = names
    frame = frame.loc[:, [c for c in frame.columns if c]]
    if frame.empty:
        raise InputError(f"{path}: het bestand heeft een kopregel maar geen rijen")
    return frame


def read_layer(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a GeoPackage, GeoJSON or Shapefile layer (headers normalised)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: bestand niet gevonden")
    if path.suffix.lower() not in GEO_SUFFIXES:
        raise InputError(f"{path}: bestandstype {path.suffix!r} wordt niet gelezen; "
                         f"gebruik GeoPackage, GeoJSON of Shapefile")
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: laag {layer or '(standaard)'} is niet te lezen ({message})") from exc
    if frame.empty:
        raise InputError(f"{path}: laag {layer or '(standaard)'} heeft geen objecten")
    frame.columns = [c if c == frame.geometry.name else normalise_header(c) for c in frame.columns]
    return frame


def require_columns(frame: pd.DataFrame, required: Iterable[str], path: Path,
                    alternatives: Sequence[Sequence[str]] = ()) -> None:
    """Fail with one line naming the file and every missing column.

    ``alternatives`` are groups of columns of which one complete group must be present
    (e.g. ``[("x_rd", "y_rd"), ("lat", "lon")]``).
    """
    columns = set(frame.columns)
    missing = [c for c in required if c not in columns]
    if alternatives and not any(set(group) <= columns for group in alternatives):
        groups = " of ".join("+".join(group) for group in alternatives)
        missing.append(f"({groups})")
    if missing:
        raise InputError(f"{path}: kolom(men) ontbreken: {', '.join(missing)}; "
                         f"gevonden: {', '.join(frame.columns) or 'geen'}")


_DECIMAL_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*,\d+$|^[+-]?\d+,\d+$")


def parse_numbers(values: pd.Series) -> pd.Series:
    """Parse text numbers with a decimal point or a Dutch decimal comma (``1.234,5``).

    Blank cells become NaN; unparseable cells become NaN too, and callers count them.
    """
    text = values.astype(str).str.strip().str.replace("\u00a0", "", regex=False)
    comma = text.str.match(_DECIMAL_COMMA)
    dutch = text.where(~comma, text.str.replace(".", "", regex=False).str.replace(",", ".",
                                                                                  regex=False))
    return pd.to_numeric(dutch.where(dutch != "", None), errors="coerce")


_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%Y%m%d", "%Y-%m-%d %H:%M:%S",
                 "%d-%m-%Y %H:%M", "%Y/%m/%d")


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse dates in the forms Dutch exports use (ISO, dd-mm-jjjj, jjjjmmdd, Excel datetimes).

    Returns a ``datetime64`` series; blanks and unparseable cells are NaT.
    """
    text = values.astype(str).str.strip()
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in _DATE_FORMATS:
        todo = result.isna() & (text != "")
        if not todo.any():
            break
        result[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    return result


def blank(values: pd.Series) -> pd.Series:
    """True where a text cell is empty."""
    return values.astype(str).str.strip().isin(["", "nan", "None", "NULL", "null"])

