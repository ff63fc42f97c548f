"""Disclosure control: everything that leaves the store passes through this module.

Rules (configurable, never weaker): a count below the minimum (default 5) is shown as ``<5``; a
value whose denominator is below its minimum, or whose count is below the minimum, is not shown;
a score built from suppressed inputs says so; no point locations of establishments or events;
no pseudonymised id, name or address in any output. Every output file is written by a function
here, which checks it first; every suppression is logged.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.text import Text
from openpyxl.utils import get_column_letter

from riskmap.config import PRIVACY_MIN_COUNT
from riskmap.errors import PrivacyError
from riskmap.fmt import integer

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
        raise PrivacyError(f"{where}: column(s) {', '.join(map(str, bad))} may not leave the store")


def public_table(frame: pd.DataFrame, where: str, counts: Sequence[str] = (),
                 min_count: int = PRIVACY_MIN_COUNT) -> pd.DataFrame:
    """The one entry point for tables that leave the store: check columns, protect counts."""
    check_columns(frame, where)
    return protect_counts(frame, counts, min_count)


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
            raise PrivacyError(f"{where}: contains {len(leaked)} pseudonymised id(s); not written")
        for value in self._forbidden:
            if value in text:
                raise PrivacyError(f"{where}: contains a name or address from the sources")


def write_csv(frame: pd.DataFrame, path: Path, guard: Guard, counts: Sequence[str] = (),
              min_count: int = PRIVACY_MIN_COUNT) -> Path:
    """Write a table as CSV (``;``, decimal comma, UTF-8 with BOM: opens in Dutch Excel)."""
    table = public_table(frame, str(path), counts, min_count)
    text = table.to_csv(sep=";", decimal=",", index=False)
    guard.check_text(text, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8-sig")
    return path


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: Path, guard: Guard,
               counts: Sequence[str] = (), min_count: int = PRIVACY_MIN_COUNT) -> Path:
    """Write tables as sheets of one XLSX workbook, each through :func:`public_table`."""
    tables = {name: public_table(frame, f"{path} [{name}]", counts, min_count)
              for name, frame in sheets.items()}
    for name, table in tables.items():
        guard.check_text(table.to_csv(index=False), f"{path} [{name}]")
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in tables.items():
            table.to_excel(writer, sheet_name=name[:31], index=False)
            _readable(writer.sheets[name[:31]], table)
    return path


def _readable(sheet: Any, table: pd.DataFrame, widest: int = 60) -> None:
    """Columns as wide as their longest text (up to ``widest``) and a frozen header row."""
    for number, column in enumerate(table.columns, start=1):
        longest = max([len(str(column)), *(len(str(v)) for v in table[column])])
        sheet.column_dimensions[get_column_letter(number)].width = min(longest + 2, widest)
    sheet.freeze_panes = "A2"


def write_text(text: str, path: Path, guard: Guard) -> Path:
    """Write an HTML, JSON or Markdown output after checking it (maps may hold areas only)."""
    guard.check_text(text, str(path))
    if POINT_GEOMETRY.search(text):
        raise PrivacyError(f"{path}: contains point geometries; only areas may be drawn")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def figure_text(figure: Figure) -> str:
    """All text drawn in a matplotlib figure: titles, labels, legends and table cells."""
    return "\n".join(t.get_text() for t in figure.findobj(Text))


def write_figure(figure: Figure, path: Path, guard: Guard | None = None, **savefig: Any) -> Path:
    """Save a matplotlib figure (PNG or PDF) after checking its text with ``guard``.

    Figures draw areas only, never points.
    """
    if guard is not None:
        guard.check_text(figure_text(figure), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        figure.savefig(path, **savefig)
    return path


def figure_bytes(figure: Figure, guard: Guard, where: str, **savefig: Any) -> bytes:
    """A figure rendered (PNG by default) to embed in an output, after checking its text."""
    guard.check_text(figure_text(figure), where)
    buffer = io.BytesIO()
    figure.savefig(buffer, **{"format": "png", **savefig})
    return buffer.getvalue()


def write_pdf(figures: Sequence[Figure], path: Path, guard: Guard, title: str = "") -> Path:
    """Write figures as the pages of one PDF; every page's text is checked before any is written.

    Fonts are embedded as TrueType, so the text can be searched and copied.
    """
    for number, figure in enumerate(figures, start=1):
        guard.check_text(figure_text(figure), f"{path} [pagina {number}]")
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path, metadata={
            "Title": title, "Subject": "Vertrouwelijk", "Creator": "riskmap"}) as pdf:
        for figure in figures:
            pdf.savefig(figure)
    return path


def write_parquet(frame: pd.DataFrame, path: Path, guard: Guard) -> Path:
    """Write a table as Parquet (for Power BI and the like) after the same checks as CSV."""
    table = public_table(frame, str(path))
    guard.check_text(table.to_csv(index=False), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(path, index=False)
    return path


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
            raise PrivacyError(f"{path} [{name}]: contains point geometries; only areas")
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
