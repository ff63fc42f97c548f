"""Disclosure control: everything that leaves the store passes through this module.

Rules (configurable, never weaker):

- **Sensitivity by source.** Counts built only from public registers (KvK establishments, BAG
  addresses, CBS) are public and shown as they are. Counts from the municipality's registers
  (register events: meldingen, maatregelen, bibob, hennep, controles and their findings) are
  sensitive: never shown below the minimum (default 5, shown as ``<5``), and never where the
  group they describe has fewer than the minimum establishments or addresses.
- **Secondary protection.** Everything a quarter publishes from the registers is protected as a
  whole (:mod:`riskmap.indicators.release`), so no hidden count can be recovered by differencing.
- A value whose denominator is below its minimum is not shown; a score built from hidden inputs
  says so, and a driver never names a hidden value; no point locations of establishments or
  events; no pseudonymised id, name or address in any output; text cells of CSV and XLSX files
  cannot start a formula. Every output file is written by a function here, which checks it
  first; every suppression is logged.
"""

from __future__ import annotations

import getpass
import io
import logging
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskmap.config import PRIVACY_MIN_COUNT
from riskmap.errors import PrivacyError
from riskmap.fmt import integer

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

# Columns that may never appear in an output, in any case or spelling.
FORBIDDEN_COLUMNS = re.compile(
    r"^(id|kvk|kvk_?nummer|vestigingsnummer|address|adres|straat|postcode|huisnummer|huisletter|"
    r"toevoeging|handelsnaam|bedrijfsnaam|voornaam|achternaam|bsn|x|y|x_rd|y_rd|lat|lon|latitude|longitude|zaaknummer|"
    r"dossiernummer|controlenummer)$", re.IGNORECASE)
PSEUDONYM = re.compile(r"(?<![0-9a-f])[0-9a-f]{16}(?![0-9a-f])")
POINT_GEOMETRY = re.compile(r'"type"\s*:\s*"(Multi)?Point"')
SUPPRESSED_TEXT = "<{n}"
NOT_SHOWN = "–"
# Why a sensitive count (or a value built from one) is hidden.
SMALL_COUNT = "klein aantal"
SMALL_GROUP = "kleine groep"
PROTECTION = "bescherming"
PRIVACY_REASONS = (SMALL_COUNT, SMALL_GROUP, PROTECTION)
SENSITIVE_MEASURES = {"events"}
# OWASP, CSV injection: a cell starting with one of these may be run as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DUTCH_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?%?$")
RAW_ACCESS_LOG = "ruwe-waarden.log"
# XlsxWriter: rows go to disk as they are written (a national target list has 1.6 million
# cells); text is never read as a formula, a link or a number
XLSX_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                "strings_to_numbers": False}


def is_sensitive(indicator: Any) -> bool:
    """Whether an indicator's value is built from a municipal register (a sensitive count)."""
    measures = [indicator.numerator, indicator.denominator]
    return any(m is not None and m.kind in SENSITIVE_MEASURES for m in measures)


def hidden_text(reason: object, min_count: int = PRIVACY_MIN_COUNT) -> str:
    """How a hidden sensitive count reads: ``<5`` for a small count, else ``–``."""
    return SUPPRESSED_TEXT.format(n=threshold(min_count)) if reason == SMALL_COUNT else NOT_SHOWN


def neutralise(value: object) -> object:
    """A text cell that cannot start a formula (OWASP: prefix ``'``); numbers stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START) \
            and not DUTCH_NUMBER.match(value):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`neutralise` over every text cell and header of a table (called only for the cells
    whose text starts as a formula may: a national table has millions of cells)."""
    out = frame.copy()
    out.columns = [neutralise(c) for c in out.columns]
    for column in out.select_dtypes(include=["object", "string"]).columns:
        values = out[column]
        risky = values.astype(str).str[:1].isin(FORMULA_START).to_numpy(bool)
        if risky.any():
            cells = values.to_numpy(dtype=object, copy=True)
            cells[risky] = [neutralise(value) for value in cells[risky]]
            out[column] = pd.Series(pd.array(cells, dtype=values.dtype), index=values.index)
    return out


def log_raw_access(root: Path, what: str) -> None:
    """Record that unprotected values were asked for (warning, and a line in ``logs/``)."""
    log.warning("privacy: onbeschermde waarden van %s opgevraagd; deel ze niet", what)
    folder = root / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / RAW_ACCESS_LOG).open("a", encoding="utf-8") as handle:
        handle.write(f"{datetime.now().isoformat(timespec='seconds')}\t{getpass.getuser()}\t"
                     f"{what}\n")


def threshold(min_count: int) -> int:
    """The effective minimum count: never below 5."""
    return max(int(min_count), PRIVACY_MIN_COUNT)


def count_label(value: float, min_count: int = PRIVACY_MIN_COUNT) -> str:
    """A count as shown in outputs: ``<5`` below the minimum, else the number."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return NOT_SHOWN
    n = threshold(min_count)
    return SUPPRESSED_TEXT.format(n=n) if value < n else integer(value)


def protect_counts(frame: pd.DataFrame, columns: Iterable[str],
                   min_count: int = PRIVACY_MIN_COUNT) -> pd.DataFrame:
    """Replace counts below the minimum by ``<5`` (as text) in the given columns."""
    out = frame.copy()
    for column in columns:
        if column not in out.columns:
            continue
        values = pd.to_numeric(out[column], errors="coerce")
        small = values.notna() & (values < threshold(min_count))
        if small.any():
            log.debug("privacy: %d counts below %d in column %r shown as <%d", int(small.sum()),
                     threshold(min_count), column, threshold(min_count))
        out[column] = [count_label(v, min_count) for v in values]
    return out


def check_columns(frame: pd.DataFrame, where: str) -> None:
    """Raise :class:`PrivacyError` if a frame has an id, name, address or coordinate column."""
    bad = [c for c in frame.columns if FORBIDDEN_COLUMNS.match(str(c).strip())]
    if bad:
        raise PrivacyError(f"{where}: kolom(men) {', '.join(map(str, bad))} mogen de opslag niet verlaten")


def public_table(frame: pd.DataFrame, where: str, counts: Sequence[str] = (),
                 min_count: int = PRIVACY_MIN_COUNT) -> pd.DataFrame:
    """The one entry point for tables that leave the store: check columns, protect counts."""
    check_columns(frame, where)
    return protect_counts(frame, counts, min_count)


def protected_values(values: pd.DataFrame, catalogue: Sequence[Any]) -> pd.DataFrame:
    """Stored indicator values as the API returns them: where ``suppressed``, the value, its
    indices and its sensitive counts (numerator; denominator where it is a register count)
    are missing."""
    out = values.copy()
    hidden = out["suppressed"].astype(bool)
    columns = [c for c in ("value", "index_gemeente", "index_nl") if c in out.columns]
    out.loc[hidden, columns] = np.nan
    by_id = {i.id: i for i in catalogue}
    sensitive = out["indicator"].map(lambda i: i in by_id and is_sensitive(by_id[i]))
    out.loc[hidden & sensitive, "numerator"] = np.nan
    counted = out["indicator"].map(lambda i: i in by_id and by_id[i].denominator is not None
                                   and by_id[i].denominator.kind in SENSITIVE_MEASURES)
    out.loc[hidden & counted, "denominator"] = np.nan
    return out


def display_values(values: pd.DataFrame) -> pd.Series:
    """Indicator values as they may be shown: missing where suppressed for any reason."""
    return values["value"].where(~values["suppressed"].astype(bool))


def suppression_summary(values: pd.DataFrame) -> pd.DataFrame:
    """Per indicator: how many values are suppressed, by reason (for the quality report)."""
    if values.empty:
        return pd.DataFrame(columns=["indicator", "reason", "count"])
    flagged = values[values["suppressed"].astype(bool)]
    summary = flagged.groupby(["indicator", "reason"], dropna=False).size().rename("count")
    for (indicator, reason), n in summary.items():
        log.debug("privacy: %s: %d values not shown (%s)", indicator, n, reason)
    return summary.reset_index()


class Guard:
    """Checks output text for pseudonymised ids held in the store before it is written.

    Parameters
    ----------
    is_known
        A function that, given candidate 16-hex tokens found in the text, returns those that
        are pseudonymised ids in the store.
    forbidden
        Extra strings that may never appear (e.g. trade names seen at load).
    """

    def __init__(self, is_known: Callable[[set[str]], set[str]] | None = None,
                 forbidden: Iterable[str] = ()) -> None:
        self._is_known: Callable[[set[str]], set[str]] = is_known or (lambda _tokens: set())
        self._forbidden = [s for s in forbidden if s]

    def check_text(self, text: str, where: str) -> None:
        """Raise :class:`PrivacyError` if ``text`` holds a pseudonym or a forbidden string."""
        tokens = set(PSEUDONYM.findall(text))
        leaked = self._is_known(tokens) if tokens else set()
        if leaked:
            raise PrivacyError(f"{where}: bevat {integer(len(leaked))} gepseudonimiseerde id('s); "
                               f"niet geschreven")
        for value in self._forbidden:
            if value in text:
                raise PrivacyError(f"{where}: bevat een naam of adres uit de bronnen; niet geschreven")


def write_csv(frame: pd.DataFrame, path: Path, guard: Guard, counts: Sequence[str] = (),
              min_count: int = PRIVACY_MIN_COUNT) -> Path:
    """Write a table as CSV (``;``, decimal comma, UTF-8 with BOM: opens in Dutch Excel)."""
    table = neutralised(public_table(frame, str(path), counts, min_count))
    text = table.to_csv(sep=";", decimal=",", index=False)
    guard.check_text(text, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8-sig")
    return path


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: Path, guard: Guard,
               counts: Sequence[str] = (), min_count: int = PRIVACY_MIN_COUNT,
               number_formats: Mapping[str, str] | None = None) -> Path:
    """Write tables as sheets of one XLSX workbook, each through :func:`public_table`.

    Every cell is written by its type (XlsxWriter): text as text, so a text that looks like a
    formula stays text and no formula is ever written; a Dutch-formatted number as a number
    (:func:`_xlsx_value`). Each sheet has a frozen header row and columns as wide as their
    longest text; ``number_formats`` (header -> Excel number format): a sheet with any of these
    columns gets them, and an autofilter over its table. The workbook is written next to
    ``path`` and then put in its place, so a failed write leaves no half workbook.
    """
    tables = {name: neutralised(public_table(frame, f"{path} [{name}]", counts, min_count))
              for name, frame in sheets.items()}
    for name, table in tables.items():
        guard.check_text(table.to_csv(index=False), f"{path} [{name}]")
    import xlsxwriter  # noqa: PLC0415 - only for spreadsheets

    path.parent.mkdir(parents=True, exist_ok=True)
    unfinished = path.with_name(f"{path.stem}.deel.xlsx")
    try:
        with xlsxwriter.Workbook(unfinished, XLSX_OPTIONS) as book:
            for name, table in tables.items():
                _write_sheet(book, name[:31], table, number_formats or {})
        unfinished.replace(path)
    finally:
        unfinished.unlink(missing_ok=True)
    return path


def _write_sheet(book: Any, name: str, table: pd.DataFrame, number_formats: Mapping[str, str],
                 widest: int = 60) -> None:
    """One sheet of :func:`write_xlsx`: the header, then the rows in order."""
    sheet = book.add_worksheet(name)
    formats = [book.add_format({"num_format": number_formats[header]})
               if header in number_formats else None for header in table.columns]
    for number, header in enumerate(table.columns):
        longest = max([len(str(header)), *(len(str(v)) for v in table[header])])
        sheet.set_column(number, number, min(longest + 2, widest))
        sheet.write_string(0, number, str(header))
    sheet.freeze_panes(1, 0)
    if not number_formats.keys().isdisjoint(table.columns):
        sheet.autofilter(0, 0, len(table), len(table.columns) - 1)
    write = {str: sheet.write_string, int: sheet.write_number, float: sheet.write_number,
             bool: sheet.write_boolean}
    other = partial(_write_other, sheet)
    columns = [_xlsx_cells(table[header]) for header in table.columns]
    for row, cells in enumerate(zip(*columns, strict=True), start=1):
        for column, value in enumerate(cells):
            if value is None:
                if formats[column] is not None:
                    sheet.write_blank(row, column, None, formats[column])
            else:
                write.get(type(value), other)(row, column, value, formats[column])


def _write_other(sheet: Any, row: int, column: int, value: object, cell_format: Any) -> None:
    """A value of another type (a numpy number in a column of mixed values): a truth value,
    finite number or text."""
    if isinstance(value, bool | np.bool_):
        sheet.write_boolean(row, column, bool(value), cell_format)
    elif isinstance(value, numbers.Real) and math.isfinite(value):
        sheet.write_number(row, column, value, cell_format)
    else:
        sheet.write_string(row, column, str(value), cell_format)


def _xlsx_cells(column: pd.Series) -> list[object]:
    """A column's cells as Python values to write: missing (and infinite) ones ``None``,
    Dutch-formatted numbers as numbers (:func:`_xlsx_value`)."""
    given = column.notna()
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        given &= np.isfinite(column.astype(float).fillna(0.0))
        return column.astype(object).where(given, None).tolist()
    return [_xlsx_value(value) for value in column.astype(object).where(given, None).tolist()]


def _xlsx_value(value: object) -> object:
    """A Dutch-formatted number as a number (so Excel computes with it); an infinite number
    empty; other cells as they are."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if not isinstance(value, str) or not DUTCH_NUMBER.match(value) or value.endswith("%") \
            or (value.startswith("0") and value[1:2].isdigit()):
        return value  # percentages and codes with leading zeros stay text
    number = float(value.replace(".", "").replace(",", "."))
    return int(number) if "," not in value else number


def write_text(text: str, path: Path, guard: Guard) -> Path:
    """Write an HTML, JSON or Markdown output after checking it (maps may hold areas only)."""
    guard.check_text(text, str(path))
    if POINT_GEOMETRY.search(text):
        raise PrivacyError(f"{path}: bevat puntgeometrieën; alleen gebieden mogen getekend worden")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def figure_text(figure: Figure) -> str:
    """All text drawn in a matplotlib figure: titles, labels, legends and table cells.

    Every artist is looked at, as ``figure.findobj`` would, and a table cell's text too
    (which ``findobj`` does not reach), except the axis lines of axes drawn without them
    (``set_axis_off``), which matplotlib does not draw: asking for their children makes their
    ticks (a fifth of a map's drawing time)."""
    from matplotlib.axis import Axis  # noqa: PLC0415 - matplotlib only where figures are
    from matplotlib.table import Cell  # noqa: PLC0415
    from matplotlib.text import Text  # noqa: PLC0415

    texts: list[str] = []
    todo: list[Artist] = [figure]
    while todo:
        artist = todo.pop()
        if isinstance(artist, Axis) and artist.axes is not None and not artist.axes.axison:
            continue
        if isinstance(artist, Text):
            texts.append(artist.get_text())
        elif isinstance(artist, Cell):
            texts.append(artist.get_text().get_text())
        todo.extend(reversed(artist.get_children()))
    return "\n".join(texts)


# How figures are written. In a PDF, glyphs drawn as Type 3 procedures: searchable and copyable
# text (€, ≥ and accents too), ~7x faster to write than a TrueType subset made with fontTools for
# every file. In a PNG, text drawn without FreeType's hinting: the same text to the eye, and a
# quarter less of a map's drawing.
FIGURE_RC: dict[Any, Any] = {"pdf.fonttype": 3, "text.hinting": "none"}
# zlib level 3 instead of Pillow's 6: a map's PNG in 13 % less time, 8 % larger
PNG_LEVEL = 3


def _save(figure: Figure, target: Path | io.BytesIO, format_: str, savefig: dict[str, Any]) -> None:
    """``figure`` saved to ``target``; a PNG with a palette of at most 256 colours.

    A map or chart has a few colours and their anti-aliased edges: drawn in 256 colours it
    looks the same (each channel within 1.2 on average, 24 at most, on an edge; a fill within
    2), in a third of the bytes, and is encoded in half the time of matplotlib's own PNG
    (which encodes every pixel as four bytes)."""
    import matplotlib  # noqa: PLC0415 - matplotlib only where figures are
    from PIL import Image  # noqa: PLC0415 - Pillow only where figures are

    raw = io.BytesIO()
    with matplotlib.rc_context(FIGURE_RC):
        if format_ != "png":
            figure.savefig(target, format=format_, **savefig)
            return
        figure.savefig(raw, format="rgba", **savefig)
    pixels = np.frombuffer(raw.getbuffer(), dtype=np.uint8)
    # the canvas is the figure's size in pixels at the dpi saved at, as Agg rounds it
    width = int(figure.get_figwidth() * savefig.get("dpi", figure.dpi))
    height = len(pixels) // (4 * width)
    if width * height * 4 != len(pixels):
        raise ValueError(f"figure of {width} pixels wide gave {len(pixels)} bytes of RGBA")
    # opaque (as every figure here is): the colours alone, without an alpha in the palette
    mode = "RGB" if pixels[3::4].min(initial=255) == 255 else "RGBA"
    image = Image.frombytes(mode, (width, height), pixels, "raw", mode.ljust(4, "X"))
    image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        target, format="png", compress_level=PNG_LEVEL)


def _laid_out(figure: Figure) -> Figure:
    """``figure``, ready to save: laid out once by ``tight_layout``, it keeps a placeholder
    layout engine, for which ``savefig`` draws it an extra time before it draws it; without
    one, the same image in three quarters of the time."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine  # noqa: PLC0415

    if isinstance(figure.get_layout_engine(), PlaceHolderLayoutEngine):
        figure.set_layout_engine(None)
    return figure


def write_figure(figure: Figure, path: Path, guard: Guard | None = None, **savefig: Any) -> Path:
    """Save a matplotlib figure (PNG or PDF) after checking its text with ``guard``.

    Figures draw areas only, never points.
    """
    if guard is not None:
        guard.check_text(figure_text(figure), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(_laid_out(figure), path, path.suffix.lower().lstrip("."), savefig)
    return path


def figure_bytes(figure: Figure, guard: Guard, where: str, **savefig: Any) -> bytes:
    """A figure rendered (PNG by default) to embed in an output, after checking its text."""
    guard.check_text(figure_text(figure), where)
    buffer = io.BytesIO()
    _save(_laid_out(figure), buffer, savefig.pop("format", "png"), savefig)
    return buffer.getvalue()


def write_pdf(figures: Sequence[Figure], path: Path, guard: Guard, title: str = "") -> Path:
    """Write figures as the pages of one PDF; every page's text is checked before any is written.

    Text stays searchable and copyable (see :data:`FIGURE_RC`).
    """
    for number, figure in enumerate(figures, start=1):
        guard.check_text(figure_text(figure), f"{path} [pagina {number}]")
    import matplotlib  # noqa: PLC0415 - matplotlib only where figures are
    from matplotlib.backends.backend_pdf import PdfPages  # noqa: PLC0415

    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(FIGURE_RC), PdfPages(path, metadata={
            "Title": title, "Subject": "Vertrouwelijk", "Creator": "riskmap"}) as pdf:
        for figure in figures:
            pdf.savefig(_laid_out(figure))
    return path


def write_csv_and_parquet(frame: pd.DataFrame, csv: Path, parquet: Path,
                          guard: Guard) -> tuple[Path, Path]:
    """Write one table as CSV (:func:`write_csv`) and as Parquet (for Power BI and the like),
    its text checked once: the CSV's text holds every value of the Parquet file (a national
    history is 100 MB of text), and neither is written when the check fails."""
    table = public_table(frame, str(parquet))
    write_csv(table, csv, guard)
    parquet.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(parquet, index=False)
    return csv, parquet


def write_layers(layers: Mapping[str, Any], styles: pd.DataFrame, path: Path,
                 guard: Guard) -> Path:
    """Write GeoDataFrames as the layers of one new GeoPackage, with a ``layer_styles`` table.

    Every layer is checked like a table (no id, name, address or coordinate columns, no
    pseudonym) and may hold areas only, never points. The file is written next to ``path`` and
    moved into place, so a reader never sees half a GeoPackage.
    """
    import pyogrio  # noqa: PLC0415 - GDAL loads only when a GeoPackage is written

    for name, layer in layers.items():
        check_columns(layer, f"{path} [{name}]")
        guard.check_text(pd.DataFrame(layer.drop(columns=layer.geometry.name)).to_csv(),
                         f"{path} [{name}]")
        if layer.geom_type.isin(["Point", "MultiPoint"]).any():
            raise PrivacyError(f"{path} [{name}]: bevat puntgeometrieën; alleen gebieden mogen erin")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.deel.gpkg")
    partial.unlink(missing_ok=True)
    for name, layer in layers.items():
        pyogrio.write_dataframe(layer, partial, layer=name, driver="GPKG", append=partial.exists())
    if not styles.empty:
        pyogrio.write_dataframe(styles, partial, layer="layer_styles", driver="GPKG",
                                append=True, layer_options={"FID": "id"})
    partial.replace(path)
    return path


def write_html_pdf(html: str, path: Path, guard: Guard) -> Path:
    """Render an HTML page to a tagged, accessible PDF (PDF/UA-1, WeasyPrint) after checking
    its text (embedded images are checked when they are made, see :func:`figure_bytes`)."""
    from weasyprint import HTML  # noqa: PLC0415 - Pango loads only when a PDF is written

    guard.check_text(html, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=html).write_pdf(path, pdf_variant="pdf/ua-1")
    return path
