"""Witwassen, zorg and vakantiepark measures on small hand-made files, values worked out by hand."""

from datetime import date
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from riskmap.cli import main
from riskmap.errors import ConfigError, InputError
from riskmap.indicators.business import SUCCESSION, establishments_measure
from riskmap.indicators.catalogue import indicator_from
from riskmap.periods import Period
from riskmap.project import Project

CENTRE = (185_000.0, 445_000.0)
PERIOD = Period(2025, 4)
# vestigingsnummer, KvK-nummer, handelsnaam, SBI 2008, SBI 2025, nevenactiviteit 2008 / 2025
ROWS = [
    (1, "11111111", "Cafe Anker", "5630", "56300", "", ""),  # cash-intensive, unchanged
    (2, "22222222", "Data BV", "6201", "70201", "", ""),  # programming -> consultancy: activity
    (3, "33333333", "Kapsalon Eik", "96021", "96210", "", ""),  # new owner in 2025 (below)
    (4, "44444444", "Snackbar Zon", "56102", "56112", "", ""),  # new name in 2025 (below)
    (5, "55555555", "Bouw Noord", "4120", "41000", "", ""),  # unchanged
    (6, "66666666", "Thuiszorg Linde", "88101", "88101", "6810", "68110"),  # zorg + vastgoed
]


def _extract(path: Path, version: int, peildatum: str) -> Path:
    frame = pd.DataFrame({
        "Vestigingsnummer": [f"{r[0]:012d}" for r in ROWS],
        "KvK-nummer": [r[1] for r in ROWS], "Handelsnaam": [r[2] for r in ROWS],
        "SBI hoofdactiviteit": [r[3] if version == 2008 else r[4] for r in ROWS],
        "SBI nevenactiviteiten": [r[5] if version == 2008 else r[6] for r in ROWS],
        "Datum aanvang": "15-03-2019", "Datum einde": "", "Peildatum": peildatum,
        "X RD": CENTRE[0], "Y RD": CENTRE[1]})
    if version == 2025:
        frame.loc[2, "KvK-nummer"] = "99999999"
        frame.loc[3, "Handelsnaam"] = "Snackbar Maan"
    frame.to_csv(path, sep=";", index=False, encoding="cp1252")
    return path


def _measure(project: Project, spec: dict, level: str = "buurt", window: int | None = 24) -> float:
    with project.store(read_only=True) as store:
        code = store.scalar("SELECT buurt FROM establishments LIMIT 1") if level == "buurt" \
            else store.scalar("SELECT code FROM areas WHERE level = ?", [level])
        return float(establishments_measure(store, spec, level, PERIOD, window, [code]).iloc[0])


@pytest.fixture
def two_extracts(project: Project, tmp_path: Path) -> Project:
    """Last year's extract (SBI 2008) and one after the KvK's conversion (SBI 2025)."""
    project.load_kvk(_extract(tmp_path / "kvk_2025.csv", 2008, "2025-01-10"))
    project.load_kvk(_extract(tmp_path / "kvk_2026.csv", 2025, "2025-12-15"))
    return project


def test_changes_between_extracts_not_the_recoding(two_extracts: Project):
    # the 2008 -> 2025 recoding of 5630, 96021, 56102, 4120, 88101 is no change; 6201 -> 70201
    # is (class 6201 does not link to 7020), as are the new KvK-nummer and the new name
    with two_extracts.store(read_only=True) as store:
        changes = store.query("SELECT kind, seen FROM establishment_changes ORDER BY kind")
    assert changes["kind"].tolist() == ["activiteit", "eigenaar", "naam"]
    assert {str(d)[:10] for d in changes["seen"]} == {"2025-12-15"}
    assert _measure(two_extracts, {"changed": ["eigenaar", "naam", "activiteit"]}) == 3
    assert _measure(two_extracts, {"changed": ["eigenaar"]}) == 1
    # a window ending before the second extract sees none
    assert _measure(two_extracts, {"changed": ["naam"]}, window=3) == 1


def test_changes_survive_reloading_the_same_extract(two_extracts: Project, tmp_path: Path):
    two_extracts.load_kvk(_extract(tmp_path / "again.csv", 2025, "2025-12-15"))
    assert _measure(two_extracts, {"changed": ["eigenaar", "naam", "activiteit"]}) == 3


def test_groups_and_nevenactiviteiten_in_both_versions(two_extracts: Project):
    # cash-intensive: café 5630/56300, kapper 96021/96210, snackbar 56102/56112 = 3 of 6
    assert _measure(two_extracts, {"groups": ["kasintensief"]}) == 3
    assert _measure(two_extracts, {"groups": ["zorg"]}) == 1
    # the thuiszorg has a nevenactiviteit in vastgoed (68110 in SBI 2025)
    assert _measure(two_extracts, {"groups": ["zorg"], "other": {"branches": "all"}}) == 1
    assert _measure(two_extracts, {"groups": ["zorg"], "other": {"outside": ["zorg"]}}) == 1
    assert _measure(two_extracts, {"groups": ["zorg"], "shared_address": 2,
                                   "shared_same": True}) == 0
    # rows without postcode and huisnummer have no address, so they share none
    assert _measure(two_extracts, {"shared_address": 2}) == 0


def test_successor_on_an_address(project: Project, tmp_path: Path):
    frame = pd.DataFrame({
        "Vestigingsnummer": ["000000000001", "000000000002", "000000000003"],
        "SBI hoofdactiviteit": ["56101", "56101", "4120"],
        "Datum aanvang": ["01-01-2015", "01-03-2025", "01-06-2025"],
        "Datum einde": ["15-02-2025", "", ""], "Postcode": "7000AA", "Huisnummer": "1",
        "X RD": CENTRE[0], "Y RD": CENTRE[1], "Peildatum": "2025-12-15"})
    frame.loc[2, ["Postcode", "Huisnummer"]] = ["7000AB", "3"]
    path = tmp_path / "opvolging.csv"
    frame.to_csv(path, sep=";", index=False, encoding="cp1252")
    project.load_kvk(path, sbi=2008)
    # only the restaurant of 1 March 2025 follows one that stopped on the same address
    assert _measure(project, {"flow": "succession"}) == 1


# The successor measure as first written (a correlated EXISTS, row by row): the reference the
# join in SUCCESSION must count alike.
EXISTS_SUCCESSION = (
    "start_date BETWEEN $first AND $end AND address IS NOT NULL AND EXISTS (SELECT 1 FROM "
    "establishments p WHERE p.address = establishments.address AND p.id <> establishments.id "
    "AND p.end_date BETWEEN establishments.start_date - INTERVAL 1 YEAR AND "
    "establishments.start_date + INTERVAL 3 MONTH)")


def test_successor_join_counts_as_the_row_by_row_exists():
    rng = np.random.default_rng(5)
    n = 4_000
    start = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 1400, n), unit="D")
    end = start + pd.to_timedelta(rng.integers(30, 900, n), unit="D")
    frame = pd.DataFrame({  # few addresses, some missing; a few ids twice (no key is assumed)
        "id": rng.integers(0, n - 50, n).astype(str),
        "address": pd.Series(rng.integers(0, 300, n).astype(str)).where(rng.random(n) > 0.1),
        "start_date": start.date, "end_date": pd.Series(end.date).where(rng.random(n) > 0.4),
        "buurt": rng.integers(0, 20, n).astype(str)})
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE establishments AS SELECT * FROM frame")
    window = {"first": date(2024, 1, 1), "end": date(2024, 12, 31)}
    counts = [dict(con.execute(f"SELECT buurt, count(*) FILTER (WHERE {condition}) FROM "
                               "establishments GROUP BY 1", window).fetchall())
              for condition in (SUCCESSION, EXISTS_SUCCESSION)]
    assert counts[0] == counts[1] and sum(counts[0].values()) > 20


def test_vakantiepark_layer_places_points(project: Project, tmp_path: Path):
    layer = gpd.GeoDataFrame({"park_id": [17], "parknaam": ["Park Centrum"]},
                             geometry=[shapely.box(CENTRE[0] - 100, CENTRE[1] - 100,
                                                   CENTRE[0] + 100, CENTRE[1] + 100)],
                             crs="EPSG:28992")
    path = tmp_path / "parken.gpkg"
    layer.to_file(path, layer="parken", driver="GPKG", engine="pyogrio")
    record = project.load_areas("vakantiepark", path, id_field="park_id",
                                name_field="parknaam")
    assert record.source == "vakantieparken" and record.rows_kept == 1
    project.load_kvk(_extract(tmp_path / "kvk.csv", 2025, "2025-12-15"))
    with project.store(read_only=True) as store:
        assert store.areas("vakantiepark")["code"].tolist() == ["VP17"]
        lists = store.query("SELECT analysis_areas FROM establishments")["analysis_areas"]
    assert [list(v) for v in lists] == [["VP17"]] * len(ROWS)
    assert _measure(project, {}, level="vakantiepark") == len(ROWS)


def test_vakantiepark_load_names_a_missing_field(project: Project, tmp_path: Path):
    layer = gpd.GeoDataFrame({"code": [1]}, geometry=[shapely.box(*CENTRE, CENTRE[0] + 9,
                                                                  CENTRE[1] + 9)],
                             crs="EPSG:28992")
    path = tmp_path / "parken.gpkg"
    layer.to_file(path, driver="GPKG", engine="pyogrio")
    with pytest.raises(InputError, match=r"kolom 'id' ontbreekt \(kies een kolom met --id-field\)"):
        project.load_areas("vakantiepark", path)


def test_cli_has_a_load_command_per_area_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_:
        main(["load", "vakantieparken", str(tmp_path / "geen.gpkg"), "-p", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "Onbekende opdracht" not in err and ("geen.gpkg" in err or "geen riskmap-project" in err)


def test_catalogue_refuses_an_unknown_group():
    entry = {"id": "x", "label": "x", "themes": ["witwassen"], "levels": ["buurt"],
             "source": "kvk", "numerator": {"establishments": {"groups": ["geen"]}},
             "direction": "higher", "rationale": "x"}
    with pytest.raises(ConfigError, match="unknown SBI group 'geen'"):
        indicator_from(entry, "test")
