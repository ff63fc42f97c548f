"""Reading source files the way municipalities get them.

CSV with ``,`` or ``;`` (and tab or ``|``), UTF-8 with or without BOM or cp1252, decimal commas;
XLSX; GeoPackage, GeoJSON and Shapefile. Values are read as text and parsed column by column, so
a bad cell is rejected with its reason instead of silently becoming 0 or NaN.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from riskmap._forked import threaded
from riskmap.errors import InputError

if TYPE_CHECKING:  # geopandas only where a layer is read
    import geopandas as gpd

TABULAR_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
GEO_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp"}
_DELIMITERS = [";", ",", "\t", "|"]
# the delimiter and header are taken from the file's first 64 KiB
PREFIX = 65_536
_BOM = b"\xef\xbb\xbf"
BLOCK = 1 << 23  # bytes read at a time while scanning a file
# Arrow reads a CSV in blocks, each a chunk of every column: read as large strings, the chunks
# become pandas' columns as they are (no copy). A UTF-8 file is read in about BLOCKS_PER_FILE
# blocks of at least BLOCK_BYTES: later steps on the columns then cost little more than on one
# chunk (58 chunks made filtering ten million addresses three times as slow). Another encoding is
# decoded block by block ahead of the parsing, which keeps pace only with small blocks (a 330 MB
# cp1252 file: 8 MB blocks 0.49 s, 20 MB 0.56 s, 64 MB 0.75 s)
BLOCK_BYTES = 1 << 23
BLOCKS_PER_FILE = 16
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_SPACE, _TAB = ord(" "), ord("\t")
_BLANK = np.isin(np.arange(256), [_SPACE, _TAB])  # by byte value
Keep = Callable[[list[str]], Iterable[str]]  # the columns to read, from the normalised header


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
    sample = "\n".join(text[:PREFIX].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        return max(_DELIMITERS, key=header.count)


def read_csv_text(path: Path, keep: Keep | None = None) -> pd.DataFrame:
    """Read a delimited text file as strings, detecting encoding and delimiter.

    Arrow's CSV reader reads a well-formed file from disk (:func:`_read_with_arrow`), only the
    columns ``keep`` names; a file it does not take is read by pandas, whose complaint names
    the line that is wrong. The whole file is scanned (:func:`_scan`) in a thread while Arrow
    reads it as its first :data:`PREFIX` bytes suggest (both let go of Python's lock); where
    the scan finds otherwise (a quote, a blank before one, other bytes further on), Arrow reads
    it again as the scan says: the same frame either way.
    """
    with threaded([partial(_scan, path)]) as scanning:
        guess = _scan_head(path)
        frame = _read_with_arrow(path, guess, keep)
        scan = next(scanning)
    if scan.options != guess.options:
        frame = _read_with_arrow(path, scan, keep)
    return frame if frame is not None else _read_with_pandas(path.read_bytes(), path)


@dataclass(frozen=True)
class _Scan:
    """What one pass over a file's bytes tells before it is parsed."""

    head: bytes  # the first :data:`PREFIX` bytes (after a BOM), for the delimiter and header
    quotes: bool  # a ``"`` anywhere: values may hold delimiters and line breaks
    blank_quote: bool  # a space or tab before a ``"`` (pandas skips them; Arrow keeps quotes)
    sample: bytes | None  # :data:`PREFIX` bytes from the first non-ASCII byte on (None: ASCII)

    @property
    def encoding(self) -> str:
        """``utf8`` when the sample is UTF-8 (or there is none), else ``cp1252`` (the Dutch
        exports'; unlike latin-1 it has € and quotes in 0x80-0x9F). A wrong guess fails while
        reading (invalid UTF-8, or a byte cp1252 lacks), and pandas reads the file instead."""
        if self.sample is None:
            return "utf8"
        try:
            codecs.getincrementaldecoder("utf-8")().decode(self.sample)
        except UnicodeDecodeError:
            return "cp1252"
        return "utf8"

    @property
    def options(self) -> tuple[bool, bool, str]:
        """What Arrow's reading depends on (:func:`_read_with_arrow`)."""
        return self.quotes, self.blank_quote, self.encoding


def _scan_head(path: Path) -> _Scan:
    """:func:`_scan` of the first :data:`PREFIX` bytes only."""
    with path.open("rb") as file:
        head = file.read(PREFIX).removeprefix(_BOM)
    found = _NON_ASCII.search(head)
    return _Scan(head, b'"' in head, b' "' in head or b'\t"' in head,
                 None if found is None else head[found.start():])


def _scan(path: Path) -> _Scan:
    """Read the file once in blocks (the whole file is never in memory): see :class:`_Scan`."""
    sample, quotes, blank_quote, last = None, False, False, b""
    with path.open("rb") as file:
        head = file.read(PREFIX).removeprefix(_BOM)
        file.seek(0)
        block, following = file.read(BLOCK), file.read(BLOCK)
        while block:
            if b'"' in block:
                quotes = True
                blank_quote = blank_quote or b' "' in block or b'\t"' in block \
                    or last + block[:1] in (b' "', b'\t"')
            if sample is None and not block.isascii():
                start = _NON_ASCII.search(block).start()  # type: ignore[union-attr]
                sample = (block[start:start + PREFIX] + following[:PREFIX])[:PREFIX]
            last, block, following = block[-1:], following, file.read(BLOCK)
    return _Scan(head, quotes, blank_quote, sample)


def _padded(column: pa.ChunkedArray) -> bool:
    """Whether any value of a string column starts or ends with a space or tab: the first and
    last bytes of its values read from the Arrow buffers, without copying the strings (a chunk
    without any blank byte is passed over at once)."""
    for chunk in column.chunks:
        _, offsets_buffer, data_buffer = chunk.buffers()
        if len(chunk) == 0 or data_buffer is None:
            continue
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(offsets_buffer, dtype=width)[
            chunk.offset:chunk.offset + len(chunk) + 1]
        data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0]:offsets[-1]]
        if not (data == _SPACE).any() and not (data == _TAB).any():
            continue
        # an empty value's "first byte" is the next value's and its "last" the previous one's:
        # blank only where that value is padded itself
        starts = np.minimum(offsets[:-1] - offsets[0], len(data) - 1)
        ends = offsets[1:] - offsets[0] - 1
        if _BLANK[data[starts]].any() or _BLANK[data[ends]].any():
            return True
    return False


def _read_with_arrow(path: Path, scan: _Scan, keep: Keep | None = None) -> pd.DataFrame | None:
    """The file as a frame of (Arrow-backed) strings without spaces and tabs around values
    (as pandas reads a padded file), of the columns ``keep`` names and those without a header
    (the whole header in ``attrs["header"]``); ``None`` where pandas must read it: blank first
    line, one column, repeated column names, blanks before a quote (pandas skips them, Arrow
    would keep the quotes) or any reading error (encoding, a row with too few or too many
    fields)."""
    if scan.blank_quote:
        return None
    encoding = scan.encoding
    head = scan.head.decode(encoding, errors="ignore")
    if not head.strip() or not head.splitlines()[0].strip():
        return None
    delimiter = _sniff_delimiter(head)
    header = next(csv.reader(io.StringIO(head), delimiter=delimiter))
    if len(header) < 2 or len(set(header)) < len(header):
        return None
    names = [normalise_header(h) for h in header]
    wanted = set(keep(names)) | {""} if keep else set(names)
    included = [h for h, name in zip(header, names, strict=True) if name in wanted]
    read = pa_csv.ReadOptions(encoding=encoding, block_size=BLOCK_BYTES if encoding != "utf8"
                              else max(BLOCK_BYTES, path.stat().st_size // BLOCKS_PER_FILE))
    parse = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=scan.quotes)
    convert = pa_csv.ConvertOptions(column_types=dict.fromkeys(header, pa.large_string()),
                                    strings_can_be_null=False, quoted_strings_can_be_null=False,
                                    include_columns=included)
    try:
        # read through a Python file: given the path, Arrow reads each block into fresh memory,
        # which costs page faults per block (3-4x the whole read where faults are slow)
        with path.open("rb") as stream:
            table = pa_csv.read_csv(stream, read, parse, convert)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if table.column_names != included:
        return None
    # spaces and tabs are single ASCII bytes, never part of a UTF-8 sequence: a byte trim is
    # safe; only the columns that have them are trimmed (a trim copies the whole column)
    frame = pa.table([pc.ascii_trim(c, " \t") if _padded(c) else c for c in table.columns],
                     names=included).to_pandas()
    frame.attrs["header"] = header
    return frame


def _read_with_pandas(raw: bytes, path: Path) -> pd.DataFrame:
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


def read_table(path: str | Path, sheet: str | int = 0, keep: Keep | None = None) -> pd.DataFrame:
    """Read a CSV or XLSX file into a DataFrame of strings with normalised headers.

    ``keep`` picks the columns to read from the normalised header (all by default): the others
    are never read from a well-formed CSV, and dropped otherwise. The whole normalised header
    stays in ``attrs["header"]`` (see :func:`header_of`).

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
        frame = read_csv_text(path, keep)
    elif suffix in {".xlsx", ".xlsm"}:
        frame = _read_xlsx(path, sheet)
    else:
        raise InputError(f"{path}: bestandstype {suffix!r} wordt niet gelezen; gebruik CSV of XLSX")
    return _with_header(frame, path, keep)


def header_of(frame: pd.DataFrame) -> list[str]:
    """The whole normalised header of a file :func:`read_table` read (also the columns it left
    out), else the frame's columns."""
    return list(frame.attrs.get("header", frame.columns))


def _read_xlsx(path: Path, sheet: str | int) -> pd.DataFrame:
    # calamine (Rust) reads a sheet about four times as fast as openpyxl (51,200 rows: 2.0 ->
    # 0.5 s), the same text of every kind of cell (tests/sources/test_io.py); openpyxl tells
    # merged cells
    try:
        frame = pd.read_excel(path, sheet_name=sheet, dtype=str, engine="calamine", header=None)
    except Exception as exc:  # the readers raise many types for broken files
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
    from openpyxl import load_workbook  # noqa: PLC0415 - only for spreadsheets

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


def _with_header(frame: pd.DataFrame, path: Path, keep: Keep | None = None) -> pd.DataFrame:
    """Normalised headers, only the columns ``keep`` names; refuse repeated headers (over the
    whole header) and data under a blank header."""
    header = [normalise_header(c) for c in frame.attrs.get("header", frame.columns)]
    refuse_repeated_headers(header, path)
    names = [normalise_header(c) for c in frame.columns]
    for number, name in enumerate(names, start=1):
        if not name and not blank(frame.iloc[:, number - 1]).all():
            blanks = [i for i, n in enumerate(header, start=1) if not n]
            column = blanks[sum(1 for n in names[:number - 1] if not n)]
            raise InputError(f"{path}: kolom {_letters(column)} heeft gegevens maar geen "
                             f"kop; geef de kolom een kop of verwijder hem")
    frame.columns = names
    wanted = set(keep(header)) if keep else set(header)
    frame = frame.loc[:, [c for c in frame.columns if c and c in wanted]]
    if frame.empty:
        raise InputError(f"{path}: het bestand heeft een kopregel maar geen rijen")
    frame.attrs["header"] = [n for n in header if n]
    return frame


def read_layer(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a GeoPackage, GeoJSON or Shapefile layer (headers normalised)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: bestand niet gevonden")
    if path.suffix.lower() not in GEO_SUFFIXES:
        raise InputError(f"{path}: bestandstype {path.suffix!r} wordt niet gelezen; "
                         f"gebruik GeoPackage, GeoJSON of Shapefile")
    import geopandas as gpd  # noqa: PLC0415 - see the imports

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


def arrow_strings(values: pd.Series) -> pa.Array:
    """A text column as one Arrow string array (its chunks joined; no copy of a single one)."""
    array = pa.array(values.astype("str").array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def arrow_dates(values: pd.Series) -> pd.Series:
    """The day of each time of a datetime column (missing stays missing) as Arrow dates, which
    the store takes as they are: no Python date object per row (``.dt.date`` makes one)."""
    days = values.to_numpy().astype("datetime64[D]")  # in its own unit: 9999-12-31 fits
    return pd.Series(pd.arrays.ArrowExtensionArray(pa.array(days, pa.date32(), from_pandas=True)),
                     index=values.index)


# From this many values, :func:`duplicated` first asks DuckDB which values repeat.
REPEATS_FROM = 500_000


def duplicated(values: pd.Series, keep: Literal["first", False] = "first") -> np.ndarray:
    """``values.duplicated(keep=keep)`` of a text column (missing values equal each other).

    For many values, DuckDB finds the values that repeat (a parallel hash aggregate: ten
    million addresses in a quarter of the time of ``pd.factorize``); only those rows are
    factorised, to tell a value's first appearance from the others. ``pd.factorize`` gives
    codes in order of first appearance, so a row holds its value's first appearance where its
    code is one more than every code before it.
    """
    if len(values) >= REPEATS_FROM:
        repeated = _repeated(arrow_strings(values))
        if keep is False or not repeated.any():
            return repeated
        found = np.zeros(len(values), dtype=bool)
        found[repeated] = _factorised(values[repeated], keep)
        return found
    return _factorised(values, keep)


def duplicated_numbers(values: np.ndarray, keep: Literal["first", False] = "first") -> np.ndarray:
    """:func:`duplicated` of integers: sorted (ten million in a tenth of a second), only the
    values that repeat are looked at again."""
    ordered = np.sort(values)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    found = np.zeros(len(values), dtype=bool)
    if twice.size:
        repeated = np.isin(values, twice)
        if keep is False:
            return repeated
        rows = np.flatnonzero(repeated)
        found[rows] = ~first_appearance(pd.factorize(values[rows])[0])
    return found


def _factorised(values: pd.Series, keep: Literal["first", False]) -> np.ndarray:
    """:func:`duplicated` from the codes of ``pd.factorize``."""
    codes, _ = pd.factorize(values.astype("str"), use_na_sentinel=False)
    if not len(codes):
        return np.zeros(0, dtype=bool)
    if keep is False:
        return np.bincount(codes)[codes] > 1
    return ~first_appearance(codes)


def gather(indptr: np.ndarray, indices: np.ndarray,
           which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The entries of rows ``which`` of a compressed sparse matrix (columns of a CSC one), in
    order, and the position in ``which`` each comes from (scipy's slicing, without its
    overhead on many small slices)."""
    starts = indptr[which]
    lengths = indptr[which + 1] - starts
    ends = np.cumsum(lengths)
    offsets = np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lengths, lengths)
    return indices[np.repeat(starts, lengths) + offsets], np.repeat(np.arange(len(which)), lengths)


def first_appearance(codes: np.ndarray) -> np.ndarray:
    """Whether each code is its value's first appearance, for codes numbered in order of first
    appearance (as ``pd.factorize`` numbers them): a code above every code before it."""
    if not len(codes):
        return np.zeros(0, dtype=bool)
    before = np.concatenate([[-1], np.maximum.accumulate(codes)[:-1]])
    return codes > before


def _repeated(values: pa.Array) -> np.ndarray:
    """Whether each value occurs more than once (missing values equal each other)."""
    import duckdb  # noqa: PLC0415 - only for many values

    with duckdb.connect() as con:
        con.register("values_", pa.table({"v": values}))
        repeats = con.sql('SELECT v FROM values_ GROUP BY v HAVING count(*) > 1').to_arrow_table()
    return pc.is_in(values, repeats.column("v"), skip_nulls=False).to_numpy(zero_copy_only=False)


def blank(values: pd.Series) -> pd.Series:
    """True where a text cell is empty."""
    return values.astype(str).str.strip().isin(["", "nan", "None", "NULL", "null"])

