"""Bad input and faults: every refusal is one line and exit code 2, and leaves the store exactly
as it was (row counts and a hash per table, and the file's bytes); undo restores exactly.

The cases run against a copy of the demo project (loaded once per session). ``test_refusals``
calls the command in-process; ``test_refusals_in_a_process`` (marked slow) runs each as its own
``riskmap`` process, where a library warning or traceback would reach the real console, and
prints the tally by loader:

    .venv/bin/pytest tests/test_faults.py -m slow -s
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from openpyxl import load_workbook

from riskmap.cli import main
from riskmap.demo import DemoRun
from riskmap.fmt import integer
from riskmap.store import Store

Make = Callable[[Path, Path], list[str]]  # (project, scratch folder) -> riskmap arguments


@dataclass(frozen=True)
class Case:
    loader: str
    name: str
    make: Make
    message: str  # a part of the one line


def _sources(project: Path) -> Path:
    return project / "sources"


def _csv(project: Path, name: str, rows: int | None = None) -> pd.DataFrame:
    raw = (_sources(project) / name).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # the demo's KvK extract is cp1252, as Dutch exports often are
        text = raw.decode("cp1252")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=None,
                       engine="python", nrows=rows)


def _write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, sep=";", index=False)
    return path


def _kvk(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Make:
    def make(project: Path, tmp: Path) -> list[str]:
        frame = change(_csv(project, "kvk_vestigingen.csv", ROWS))
        return ["load", "kvk", str(_write(frame, tmp / "kvk.csv"))]
    return make


def _meldingen(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Make:
    def make(project: Path, tmp: Path) -> list[str]:
        frame = change(_csv(project, "registers/meldingen.csv", ROWS))
        return ["load", "register", "meldingen", str(_write(frame, tmp / "meldingen.csv"))]
    return make


def _bag(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Make:
    def make(project: Path, tmp: Path) -> list[str]:
        frame = change(_csv(project, "bagadres-full.csv", ROWS))
        return ["load", "bag", str(_write(frame, tmp / "bag.csv"))]
    return make


def _set(column: str, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.assign(**{column: value})


def _mapping(text: bytes, extra: tuple[str, ...] = ()) -> Make:
    def make(project: Path, tmp: Path) -> list[str]:
        (tmp / "mapping.yaml").write_bytes(text)
        return ["load", "kvk", str(_sources(project) / "kvk_vestigingen.csv"), "--mapping",
                str(tmp / "mapping.yaml"), *extra]
    return make


def _bytes(name: str, content: bytes, command: tuple[str, ...]) -> Make:
    def make(project: Path, tmp: Path) -> list[str]:
        (tmp / name).write_bytes(content)
        return [*command, str(tmp / name)]
    return make


def _truncated(source: str, size: int, command: tuple[str, ...]) -> Make:
    def make(project: Path, tmp: Path) -> list[str]:
        path = tmp / Path(source).name
        path.write_bytes((_sources(project) / source).read_bytes()[:size])
        return [*command, str(path)]
    return make


def _controles_merged_header(project: Path, tmp: Path) -> list[str]:
    book = load_workbook(_sources(project) / "registers" / "controles.xlsx")
    sheet = book.worksheets[0]
    sheet["C1"] = None
    sheet.merge_cells("B1:C1")
    book.save(tmp / "controles.xlsx")
    return ["load", "register", "controles", str(tmp / "controles.xlsx")]


def _controles_dates(project: Path, tmp: Path) -> list[str]:
    frame = pd.read_excel(_sources(project) / "registers" / "controles.xlsx", dtype=str)
    frame.assign(Datum="2099-01-01").to_excel(tmp / "controles.xlsx", index=False)
    return ["load", "register", "controles", str(tmp / "controles.xlsx")]


def _boundaries(change: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame],
                source: str = "wijkenbuurten_2024.gpkg", command: str = "boundaries") -> Make:
    def make(project: Path, tmp: Path) -> list[str]:
        path = tmp / source
        for layer in gpd.list_layers(_sources(project) / source)["name"]:
            frame = gpd.read_file(_sources(project) / source, layer=layer)
            change(frame).to_file(path, layer=layer, driver="GPKG")
        return ["load", command, str(path)]
    return make


def _relabel(epsg: int) -> Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame]:
    return lambda frame: frame.set_crs(epsg, allow_override=True)


def _as_lonlat_labelled_rd(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs(4326).set_crs(28992, allow_override=True)


def _empty_geometries(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.set_geometry([shapely.Polygon()] * len(frame), crs=frame.crs)


def _one_buurt(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.iloc[:1]


def _shift(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.set_geometry(frame.geometry.translate(-60_000, 0))


def _cache(content: bytes) -> Make:
    def make(project: Path, tmp: Path) -> list[str]:
        cached = next((_sources(project) / "cbs").glob("85984NED_*.json"))
        cached.write_bytes(content)
        return ["load", "cbs", "--year", "2024", "--offline", "--no-police"]
    return make


def _project_file(name: str, content: Callable[[bytes], bytes], command: tuple[str, ...]) -> Make:
    def make(project: Path, tmp: Path) -> list[str]:
        path = project / name
        path.write_bytes(content(path.read_bytes()))
        return list(command)
    return make


def _held_lock(project: Path, tmp: Path) -> list[str]:
    """Another process holds the project (as a running build would)."""
    code = ("import sys, time; from filelock import FileLock\n"  # as riskmap._lock holds it
            "with FileLock(sys.argv[1] + '/riskmap.lock', timeout=0):\n"
            "    open(sys.argv[1] + '/riskmap.lock', 'w').write('riskmap build --period 2025Q3')\n"
            "    print('held', flush=True); time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(project)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    HOLDERS.append(holder)
    return ["load", "register", "meldingen", str(_sources(project) / "registers" / "meldingen.csv")]


HOLDERS: list[subprocess.Popen[str]] = []
ROWS = 300  # rows of a bad file: a refusal does not depend on the file's size
RANDOM = bytes(range(256)) * 64
FAR = "999999"

CASES = [
    Case("kvk", "staff 99999999999999 (INT32)", _kvk(_set("Werkzame personen", "99999999999999")),
         "werkzame_personen buiten 0..100000"),
    Case("kvk", "negative staff", _kvk(_set("Werkzame personen", "-3")),
         "werkzame_personen buiten"),
    Case("kvk", "start dates 1900-01-01", _kvk(_set("Datum aanvang", "01-01-1900")),
         "datum_aanvang is een opvuldatum"),
    Case("kvk", "X/Y far outside NL", _kvk(lambda f: f.assign(**{"X RD": FAR, "Y RD": FAR})),
         "coördinaten buiten Nederland"),
    Case("kvk", "duplicate header", _kvk(lambda f: f.assign(dup=f["Postcode"]).rename(
        columns={"dup": "postcode "})), "kolomkop 'postcode' komt twee keer voor"),
    Case("kvk", "data under a blank header", _kvk(lambda f: f.assign(**{" ": "x"})),
         "heeft gegevens maar geen kop"),
    Case("kvk", "keeps far fewer rows", _kvk(lambda f: f), "vervangen door"),
    Case("kvk", "malformed --mapping YAML", _mapping(b"vestigingsnummer: [Vestigingsnummer\n"),
         "geen geldige YAML"),
    Case("kvk", "binary --mapping", _mapping(RANDOM), "geen tekstbestand"),
    Case("kvk", "--mapping is a list", _mapping(b"- a\n- b\n"), "een mapping bestaat uit regels"),
    Case("kvk", "--mapping makes a duplicate", _mapping(b"postcode: Plaats\n"),
         "komt na de mapping twee keer voor"),
    Case("kvk", "binary CSV", _bytes("kvk.csv", RANDOM, ("load", "kvk")), "kvk.csv"),
    Case("kvk", "empty file", _bytes("kvk.csv", b"", ("load", "kvk")),
         "kvk.csv: het bestand is leeg"),
    Case("kvk", "XLSX of random bytes", _bytes("kvk.xlsx", RANDOM, ("load", "kvk")),
         "kvk.xlsx: niet te lezen als XLSX"),
    Case("kvk", "truncated CSV", _truncated("kvk_vestigingen.csv", 5000, ("load", "kvk")),
         "kvk_vestigingen.csv"),
    Case("bag", "coordinates outside NL", _bag(lambda f: f.assign(x="0", y="0")),
         "coördinaten buiten Nederland"),
    Case("bag", "duplicate header", _bag(lambda f: f.assign(X=f["x"])),
         "kolomkop 'x' komt twee keer voor"),
    Case("bag", "keeps far fewer rows", _bag(lambda f: f), "vervangen door"),
    Case("register", "meldingen dated 2099", _meldingen(_set("Datum", "2099-01-01")),
         "datum buiten 2000-01-01.."),
    Case("register", "meldingen dated 1900", _meldingen(_set("Datum", "1900-01-01")),
         "datum is een opvuldatum"),
    Case("register", "meldingen keep far fewer", _meldingen(lambda f: f.iloc[::10]),
         "vervangen door"),
    Case("register", "meldingen duplicate header", _meldingen(lambda f: f.assign(
        datum=f["Datum"])), "kolomkop 'datum' komt twee keer voor"),
    Case("register", "controles.xlsx merged header", _controles_merged_header,
         "samengevoegde kopcel B1:C1"),
    Case("register", "controles.xlsx dated 2099", _controles_dates, "datum buiten"),
    Case("register", "unclosed quote", _bytes("meldingen.csv", b'Zaaknummer;Datum;Categorie;x_rd;'
                                               b'y_rd\n"M1;2025-01-01;drugs;1;2\n',
                                               ("load", "register", "meldingen")),
         "meldingen.csv: niet te lezen als CSV (een aanhalingsteken in regel 2 wordt nergens"),
    Case("boundaries", "RD labelled EPSG:4326", _boundaries(_relabel(4326)),
         "lijken RD-meters"),
    Case("boundaries", "RD labelled EPSG:3857", _boundaries(_relabel(3857)),
         "lijken RD-meters"),
    Case("boundaries", "lon/lat labelled EPSG:28992", _boundaries(_as_lonlat_labelled_rd),
         "lijken lengte- en breedtegraden"),
    Case("boundaries", "zero-row GeoPackage", _boundaries(lambda f: f.iloc[:0]),
         "heeft geen objecten"),
    Case("boundaries", "empty geometries", _boundaries(_empty_geometries),
         "geen bruikbare geometrieën"),
    Case("boundaries", "one buurt only", _boundaries(_one_buurt), "vervangen door"),
    Case("boundaries", "truncated GeoPackage", _truncated("wijkenbuurten_2024.gpkg", 20_000,
                                                          ("load", "boundaries")), "gpkg"),
    Case("boundaries", "GeoPackage of random bytes",
         _bytes("wijken.gpkg", RANDOM, ("load", "boundaries")), "wijken.gpkg"),
    Case("bedrijventerreinen", "all outside the gemeente",
         _boundaries(_shift, "ibis_bedrijventerreinen.gpkg", "bedrijventerreinen"),
         "houdt geen rijen over"),
    Case("bedrijventerreinen", "RD labelled EPSG:4326 (IBIS)",
         _boundaries(_relabel(4326), "ibis_bedrijventerreinen.gpkg", "bedrijventerreinen"),
         "lijken RD-meters"),
    Case("bedrijventerreinen", "zero-row GeoPackage (IBIS)",
         _boundaries(lambda f: f.iloc[:0], "ibis_bedrijventerreinen.gpkg", "bedrijventerreinen"),
         "heeft geen objecten"),
    Case("cbs", "truncated cache file", _cache(b'{"request": {"table": "85984N'),
         "beschadigd cachebestand"),
    Case("cbs", "binary cache file", _cache(RANDOM), "beschadigd cachebestand"),
    Case("cbs", "cache file holds a list", _cache(b"[1, 2]"), "beschadigd cachebestand"),
    Case("cbs", "cached response is not a table", _cache(b'{"response": {"x": 1}}'),
         "DataProperties"),
    Case("project", "riskmap.yaml of random bytes",
         _project_file("riskmap.yaml", lambda _: RANDOM, ("status",)), "geen tekstbestand"),
    Case("project", "riskmap.yaml not YAML",
         _project_file("riskmap.yaml", lambda b: b + b"\n: [\n", ("status",)), "geen geldige YAML"),
    Case("project", "truncated store, status",
         _project_file("riskmap.duckdb", lambda b: b[:300_000], ("status",)), "herstel:"),
    Case("project", "truncated store, build",
         _project_file("riskmap.duckdb", lambda b: b[:300_000], ("build", "--period", "2025Q3")),
         "herstel:"),
    Case("project", "store of random bytes",
         _project_file("riskmap.duckdb", lambda _: RANDOM, ("status",)), "herstel:"),
    Case("build", "quarter 1900Q1", lambda p, t: ["build", "--period", "1900Q1"],
         "buiten de geladen gegevens (2023Q4..2025Q3)"),
    Case("build", "quarter 2099Q1", lambda p, t: ["build", "--period", "2099Q1"],
         "buiten de geladen gegevens"),
    Case("build", "a load while a build runs", _held_lock,
         "bezig met een andere opdracht (riskmap build --period 2025Q3"),
    Case("undo", "a load that does not exist", lambda p, t: ["undo", "999"],
         "lading 999 kan niet ongedaan worden gemaakt"),
]
# cases that damage a project file, or hold its lock, get a copy of their own
OWN_COPY = {"project", "cbs", "build"}


def _fingerprint(project: Path) -> tuple[object, str]:
    """Contents per table (when the store opens) and the sha256 of the file."""
    path = project / "riskmap.duckdb"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        with Store.open(path, read_only=True) as store:
            return store.fingerprint(), digest
    except Exception:  # a damaged store: its bytes are what must stay the same
        return None, digest


@pytest.fixture(scope="module")
def demo_copy(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the loaded demo project, migrated once so that its bytes stay still."""
    root = tmp_path_factory.mktemp("faults") / "project"
    shutil.copytree(demo_run.project.root, root, ignore=shutil.ignore_patterns("output", "logs"))
    Store.open(root / "riskmap.duckdb").close()
    return root


def _setup(case: Case, demo_copy: Path, tmp: Path) -> tuple[Path, list[str]]:
    project = demo_copy
    if case.loader in OWN_COPY:
        project = tmp / "own"
        shutil.copytree(demo_copy, project)
    scratch = tmp / "scratch"
    scratch.mkdir(parents=True)
    return project, case.make(project, scratch)


def _release_holders() -> None:
    while HOLDERS:
        holder = HOLDERS.pop()
        holder.kill()
        holder.wait()


# one case per kind of fault runs with every `make test`; all run with `-m slow`
QUICK = {"staff 99999999999999 (INT32)", "start dates 1900-01-01", "X/Y far outside NL",
         "duplicate header", "keeps far fewer rows", "malformed --mapping YAML",
         "meldingen dated 2099", "controles.xlsx merged header", "RD labelled EPSG:4326",
         "RD labelled EPSG:3857", "zero-row GeoPackage", "empty geometries",
         "all outside the gemeente", "truncated cache file", "binary cache file",
         "riskmap.yaml of random bytes", "truncated store, status", "quarter 1900Q1",
         "quarter 2099Q1", "a load while a build runs", "a load that does not exist"}
SLOW_LOADERS = {"bag"}  # BAG refusals take the KvK's path; IBIS's CRS cases the boundaries'


@pytest.mark.parametrize("case", [
    pytest.param(case, id=f"{case.loader}: {case.name}",
                 marks=() if case.name in QUICK and case.loader not in SLOW_LOADERS
                 else pytest.mark.slow)
    for case in CASES])
def test_refusals(case: Case, demo_copy: Path, tmp_path: Path,
                  capsys: pytest.CaptureFixture[str]):
    project, args = _setup(case, demo_copy, tmp_path)
    before = _fingerprint(project)
    capsys.readouterr()
    try:
        with pytest.raises(SystemExit) as exit_info:
            main([*args, "-p", str(project)])
    finally:
        _release_holders()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert exit_info.value.code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert case.message in lines[0], lines[0]
    assert _fingerprint(project) == before


def _one_process(case: Case, demo_copy: Path, tmp: Path) -> dict[str, object]:
    project, args = _setup(case, demo_copy, tmp)
    before = _fingerprint(project)
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    try:
        done = subprocess.run([sys.executable, "-m", "riskmap.cli", *args, "-p", str(project)],
                              check=False, capture_output=True, text=True, env=env, timeout=600)
    finally:
        _release_holders()
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return {"loader": case.loader, "case": case.name,
            "traceback": "Traceback" in done.stderr + done.stdout,
            "wrong_exit": done.returncode != 2, "not_one_line": len(lines) != 1,
            "store_changed": _fingerprint(project) != before,
            "wrong_line": not lines or case.message not in lines[0],
            "line": lines[0] if lines else done.stderr}


@pytest.mark.slow
def test_refusals_in_a_process(demo_copy: Path, tmp_path: Path):
    started = time.perf_counter()
    results = pd.DataFrame([_one_process(case, demo_copy, tmp_path / f"c{i}")
                            for i, case in enumerate(CASES)])
    tally = results.groupby("loader", sort=False).agg(
        cases=("case", "size"), tracebacks=("traceback", "sum"), wrong_exit=("wrong_exit", "sum"),
        not_one_line=("not_one_line", "sum"), wrong_line=("wrong_line", "sum"),
        store_changed=("store_changed", "sum"))
    print(f"\n{tally.to_string()}\ntotal {len(results)} cases in "
          f"{time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.2f}")
    checks = ["traceback", "wrong_exit", "not_one_line", "wrong_line", "store_changed"]
    bad = results[results[checks].any(axis=1)]
    assert bad.empty, json.dumps(bad.to_dict("records"), ensure_ascii=False, indent=1)


DATA_TABLES = ("areas", "cbs_values", "establishments", "addresses", "events")


def _data(project: Path) -> dict[str, object]:
    with Store.open(project / "riskmap.duckdb", read_only=True) as store:
        prints = store.fingerprint()
    return {table: prints[table] for table in DATA_TABLES}


def _ok(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    return out


def test_implausible_rows_are_counted_and_undo_restores_exactly(
        demo_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    project = tmp_path / "p"
    shutil.copytree(demo_copy, project)
    before = _data(project)
    kvk = _csv(project, "kvk_vestigingen.csv")
    kvk.loc[0, "Werkzame personen"] = "99999999999999"
    kvk.loc[1, "Datum aanvang"] = "01-01-1900"
    out = _ok(capsys, "load", "kvk", str(_write(kvk, tmp_path / "kvk.csv")), "-p", str(project))
    assert "1 werkzame_personen buiten 0..100000" in out
    assert "1 datum_aanvang is een opvuldatum" in out
    meldingen = _csv(project, "registers/meldingen.csv")
    meldingen.loc[:49, "Datum"] = "2099-01-01"
    out = _ok(capsys, "load", "register", "meldingen",
              str(_write(meldingen, tmp_path / "m.csv")), "-p", str(project))
    kept = len(meldingen) - 50
    assert f"opgenomen {integer(kept)}; afgewezen 50: 50 datum buiten 2000-01-01.." in out
    # the good rows stay: the wrong dates do not widen the replaced range
    with Store.open(project / "riskmap.duckdb", read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM events WHERE kind = 'meldingen'") == kept
    shrunk = _write(_csv(project, "bagadres-full.csv").iloc[:1000], tmp_path / "bag.csv")
    _ok(capsys, "load", "bag", str(shrunk), "--vervang", "-p", str(project))
    status = _ok(capsys, "status", "-p", str(project))
    assert "riskmap undo" in status and "55.354" not in status
    for _ in range(3):
        assert "ongedaan gemaakt" in _ok(capsys, "undo", "-p", str(project))
    assert _data(project) == before
    with Store.open(project / "riskmap.duckdb", read_only=True) as store:
        active = store.lineage()
    assert sorted(active["source"]) == sorted(set(active["source"]))  # one live load per source
