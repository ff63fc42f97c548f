"""Privacy over EVERY file the demo and the map, report and targets commands write.

In every output: no count from a municipal register below 5 except as ``<5`` (counts from the
public trade register, BAG and CBS may be small); no pseudonymised id held in the store; no
coordinates of establishments, events or addresses (RD as in the sources, or WGS84 as the maps
write them); no trade name, postcode or case number from the sources. PNG files carry no text
to scan; their text was checked when they were drawn (``figure_text`` in the privacy gate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
from html_parts import geojson, parse
from openpyxl import load_workbook
from planting import plant_patterns
from pypdf import PdfReader

from riskmap.cli import main
from riskmap.config import CONFIG_NAME, KEY_NAME, STORE_NAME
from riskmap.demo import DemoRun
from riskmap.indicators.privacy import PSEUDONYM, is_sensitive
from riskmap.project import Project

TEXT_SUFFIXES = {".csv", ".html", ".md", ".json", ".txt"}
# "Aantal ..." columns, except public counts of establishments (trade register) and addresses
COUNT_HEADER = re.compile(r"^aantal\b(?!.*(vestiging|risicobranche|adres))", re.IGNORECASE)
COUNT_NOUNS = re.compile(
    r"(?<![<\d.,])(\d[\d.]*)\s+(controles|controle|bevindingen|bevinding|"
    r"meldingen|melding|zaken|kwekerijen|sluitingen|signalen)\b", re.IGNORECASE)
RD_NUMBER = re.compile(r"(?<![\d.,])(\d{5,6}[.,]\d{1,2})(?![\d])")
WGS_PAIR = re.compile(r"\[\s*(\d{1,2}\.\d+),\s*(\d{1,2}\.\d+)\s*\]")
POSTCODE = re.compile(r"\b(\d{4}\s?[A-Z]{2})\b")
CASE_ID = re.compile(r"\b([A-Z]{2,3}-\d{4,6})\b")


@dataclass
class Secrets:
    """What the sources hold and no output may show."""

    names: set[str]
    postcodes: set[str]
    case_ids: set[str]
    rd: pd.DataFrame  # x, y rounded to 0.1 m
    wgs: set[tuple[float, float]]  # lon, lat rounded to 5 decimals


def _read_source(path: Path) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype=str)
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig") if raw[:3] == b"\xef\xbb\xbf" else raw.decode("cp1252")
    sep = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    return pd.read_csv(pd.io.common.StringIO(text), sep=sep, dtype=str)


def _number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.str.replace(",", ".", regex=False), errors="coerce")


@pytest.fixture(scope="module")
def secrets(demo_run: DemoRun) -> Secrets:
    sources = demo_run.project.root / "sources"
    frames = [_read_source(p) for p in [*sources.glob("*.csv"), *sources.glob("registers/*")]]
    names, postcodes, case_ids, points = set(), set(), set(), []
    for frame in frames:
        columns = {c.lower(): c for c in frame.columns}
        if "handelsnaam" in columns:
            names |= set(frame[columns["handelsnaam"]].dropna())
        if "postcode" in columns:
            postcodes |= set(frame[columns["postcode"]].dropna().str.replace(" ", ""))
        for key in ("zaaknummer", "dossiernummer", "controlenummer"):
            if key in columns:
                case_ids |= set(frame[columns[key]].dropna())
        x = next((columns[c] for c in ("x rd", "x_rd", "x") if c in columns), None)
        y = next((columns[c] for c in ("y rd", "y_rd", "y") if c in columns), None)
        if x and y:
            points.append(pd.DataFrame({"x": _number(frame[x]), "y": _number(frame[y])}))
    rd = pd.concat(points).dropna().round(1).drop_duplicates()
    lon, lat = pyproj.Transformer.from_crs(28992, 4326, always_xy=True).transform(
        rd["x"].to_numpy(), rd["y"].to_numpy())
    wgs = set(zip(np.round(lon, 5), np.round(lat, 5), strict=True))
    assert len(names) > 1_000 and len(rd) > 1_000 and case_ids
    return Secrets(names, postcodes, case_ids, rd, wgs)


@pytest.fixture(scope="module")
def output_folders(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The demo's outputs, and those of the commands run on a copy that has hotspot and model
    results (online map, other target options)."""
    root = tmp_path_factory.mktemp("privacy") / "kopie"
    root.mkdir()
    for name in (CONFIG_NAME, KEY_NAME, STORE_NAME):
        (root / name).write_bytes((demo_run.project.root / name).read_bytes())
    project = Project(root)
    plant_patterns(project, str(demo_run.period))
    for args in (["map", "--offline"], ["map"], ["report", "--pdf"],
                 ["targets", "--capacity", "3", "--exclude-recent", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*args, "--period", str(demo_run.period), "-p", str(root)])
        assert exit_info.value.code == 0, args
    return [demo_run.project.root / "output", demo_run.project.root / "logs", root / "output"]


@pytest.fixture(scope="module")
def files(output_folders: list[Path]) -> list[Path]:
    found = [p for folder in output_folders if folder.exists()
             for p in sorted(folder.rglob("*")) if p.is_file()]
    kinds = {p.suffix for p in found}
    assert {".csv", ".xlsx", ".html", ".pdf", ".png", ".md", ".gpkg", ".parquet"} <= kinds
    return found


def _text(path: Path) -> str:
    """All text of an output file, read once per file as it is (its size and time of change)."""
    stat = path.stat()
    return _text_of(path, stat.st_size, stat.st_mtime_ns)


@cache
def _text_of(path: Path, size: int, changed: int) -> str:
    del size, changed  # the cache's key
    if path.suffix in TEXT_SUFFIXES:
        return path.read_text(encoding="utf-8-sig")
    if path.suffix == ".xlsx":
        book = load_workbook(path, read_only=True)
        return "\n".join("\t".join("" if v is None else str(v) for v in row)
                         for sheet in book.worksheets for row in sheet.iter_rows(values_only=True))
    if path.suffix == ".pdf":
        reader = PdfReader(path)
        meta = " ".join(str(v) for v in (reader.metadata or {}).values())
        return meta + "\n" + "\n".join(page.extract_text() for page in reader.pages)
    if path.suffix in {".gpkg", ".parquet"}:
        return "\n".join(table.to_csv(sep="\t", index=False) for table in _tables(path, ""))
    assert path.suffix == ".png", f"unexpected output type {path}"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return ""


def _tables(path: Path, text: str) -> list[pd.DataFrame]:
    if path.suffix == ".csv":
        return [pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)]
    if path.suffix == ".xlsx":
        return list(pd.read_excel(path, sheet_name=None, dtype=str).values())
    if path.suffix == ".html":
        tables = [pd.DataFrame(t[1:], columns=t[0]) for t in parse(text).tables
                  if len(t) > 1 and all(len(r) == len(t[0]) for r in t)]
        props = [pd.DataFrame([f["properties"] for f in c["features"]]) for c in geojson(text)]
        return tables + [p for p in props if not p.empty]
    if path.suffix == ".gpkg":  # layers' attributes, and QGIS's layer_styles table
        return [pyogrio.read_dataframe(path, layer=name, read_geometry=False)
                for name, _ in pyogrio.list_layers(path)]
    if path.suffix == ".parquet":
        return [pd.read_parquet(path).astype(str)]
    return []


def _bad_count(value: object) -> bool:
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    text = text.strip()
    if text in {"", "–", "-", "nan"} or re.fullmatch(r"<\d+", text):
        return False
    number = re.fullmatch(r"\d+(\.\d{3})*", text)
    return number is None or int(text.replace(".", "")) < 5


def _is_capacity(text: str, match: re.Match[str]) -> bool:
    """A number the user chose (the target list's capacity), not a count from the data."""
    return "capaciteit" in text[max(0, match.start() - 25):match.start()].lower()


def _pdf_table_counts(text: str) -> list[str]:
    """Count cells of PDF tables: the last k tokens of the rows under a header ending in k
    'Aantal ...' columns (rows start with a rank)."""
    bad, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        k = len(re.findall(r"\bAantal\b", line))
        if not k or not line.startswith("Rang"):
            continue
        for row in lines[i + 1:]:
            if not re.match(r"\d+ ", row):
                break
            bad += [t for t in row.split()[-k:] if _bad_count(t)]
    return bad


def test_no_count_below_five_outside_the_suppression_mark(files):
    problems = []
    for path in files:
        text = _text(path)
        for table in _tables(path, text):
            for column in [c for c in table.columns if COUNT_HEADER.match(str(c))]:
                problems += [f"{path.name}: {column} = {v!r}" for v in table[column]
                             if _bad_count(v)]
        visible = " ".join(parse(text).text) if path.suffix == ".html" else text
        problems += [f"{path.name}: '{m.group(0)}'" for m in COUNT_NOUNS.finditer(visible)
                     if int(m.group(1).replace(".", "")) < 5 and not _is_capacity(visible, m)]
        if path.suffix == ".pdf":
            problems += [f"{path.name}: table count {v!r}" for v in _pdf_table_counts(text)]
    assert problems == []


def test_indicator_values_from_small_counts_are_not_shown(demo_run, demo_output):
    """A rate or share whose numerator counts fewer than 5 register events reads ``aantal <5``
    (or ``–``) in the scores table; one from public counts is shown."""
    catalogue = demo_run.project.catalogue()
    labels = {i.id: i.label for i in catalogue if is_sensitive(i)}
    public = {i.id: i.label for i in catalogue if i.is_count_based and not is_sensitive(i)}
    with demo_run.project.store(read_only=True) as store:
        small = store.query("SELECT area_code, indicator FROM indicator_values WHERE period = ? "
                            "AND numerator < 5 AND indicator IN (SELECT unnest(?))",
                            [str(demo_run.period), list(labels)])
    table = pd.read_csv(demo_output / "scores.csv", sep=";", dtype=str, encoding="utf-8-sig",
                        keep_default_na=False).set_index("Code")
    shown = [table.loc[row.area_code, labels[row.indicator]] for row in small.itertuples()
             if row.area_code in table.index and labels[row.indicator] in table.columns]
    assert len(shown) > 50
    assert set(shown) <= {"aantal <5", "–"}
    with demo_run.project.store(read_only=True) as store:
        small_public = store.query(
            "SELECT area_code, indicator FROM indicator_values WHERE period = ? AND numerator "
            "BETWEEN 1 AND 4 AND NOT suppressed AND indicator IN (SELECT unnest(?))",
            [str(demo_run.period), list(public)])
    values = [table.loc[r.area_code, public[r.indicator]] for r in small_public.itertuples()
              if r.area_code in table.index and public[r.indicator] in table.columns]
    assert values and not set(values) & {"aantal <5", "–"}


def test_no_pseudonymised_id_in_any_output(demo_run, files):
    tokens = {t for path in files for t in PSEUDONYM.findall(_text(path))}
    with demo_run.project.store(read_only=True) as store:
        assert store.pseudonyms_among(tokens) == set()
        sample = set(store.query("SELECT id FROM establishments LIMIT 50")["id"])
    assert not tokens & sample


def test_no_coordinates_of_establishments_events_or_addresses(files, secrets):
    for path in files:
        text = _text(path)
        found = {round(float(n.replace(",", ".")), 1) for n in RD_NUMBER.findall(text)}
        leaked = secrets.rd[secrets.rd["x"].isin(found) & secrets.rd["y"].isin(found)]
        assert leaked.empty, f"{path}: RD coordinates of {len(leaked)} source points"
        pairs = {(round(float(a), 5), round(float(b), 5)) for a, b in WGS_PAIR.findall(text)}
        assert not pairs & secrets.wgs, f"{path}: WGS84 coordinates of source points"
        for collection in geojson(text) if path.suffix == ".html" else []:
            kinds = {f["geometry"]["type"] for f in collection["features"]}
            assert kinds <= {"Polygon", "MultiPolygon"}, f"{path}: {kinds}"
        for name, kind in pyogrio.list_layers(path) if path.suffix == ".gpkg" else []:
            assert kind in {"Polygon", "MultiPolygon", None}, f"{path} [{name}]: {kind}"


def test_no_trade_names_postcodes_or_case_numbers(files, secrets):
    by_last_word: dict[str, set[str]] = {}
    plain = []  # names not ending in a word character: searched as they are
    for name in secrets.names:
        words = re.findall(r"\w+", name)
        if words and name.endswith(words[-1]):
            by_last_word.setdefault(words[-1], set()).add(name)
        else:
            plain.append(name)
    for path in files:
        text = _text(path)
        leaked = [name for m in re.finditer(r"\w+", text) for name in
                  by_last_word.get(m.group(0), ()) if text.endswith(name, 0, m.end())]
        leaked += [name for name in plain if name in text]
        assert leaked == [], f"{path}: trade names {leaked[:5]}"
        postcodes = {p.replace(" ", "") for p in POSTCODE.findall(text)}
        assert not postcodes & secrets.postcodes, f"{path}: postcodes"
        assert not set(CASE_ID.findall(text)) & secrets.case_ids, f"{path}: case numbers"
