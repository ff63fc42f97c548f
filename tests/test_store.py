from pathlib import Path

import duckdb
import pandas as pd
import pytest
import shapely

from riskmap import store as store_module
from riskmap.errors import InputError, PrivacyError, ProjectError, StoreError
from riskmap.indicators.privacy import write_csv
from riskmap.store import (
    CELL_COLUMNS,
    MIGRATIONS,
    PSEUDONYM_COLUMNS,
    SCHEMA_VERSION,
    UNDO_DEPTH,
    LoadRecord,
    Store,
    geometry_to_wkb,
    result_frame,
)


def _areas(codes: list[str]) -> pd.DataFrame:
    import geopandas as gpd

    geoms = gpd.GeoSeries([shapely.box(i, 0, i + 1, 1) for i in range(len(codes))])
    return pd.DataFrame({"code": codes, "level": "buurt", "name": codes, "gemeente": "GM0001",
                         "wijk": "WK000100", "year": 2024, "area_ha": 1.0,
                         "geometry": geometry_to_wkb(geoms), "attributes": None})


def test_new_store_has_schema_and_crs(tmp_path: Path):
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.scalar("SELECT value FROM meta WHERE key='crs'") == "EPSG:28992"
    with pytest.raises(ProjectError, match="hier is geen opslag; maak een project met `riskmap init -p MAP"):
        Store.open(tmp_path / "missing.duckdb")


def test_geometry_round_trips_as_wkb(tmp_path: Path):
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        store.write_load(LoadRecord("boundaries", "2024"), {"areas": _areas(["BU1", "BU2"])})
        areas = store.areas("buurt")
    assert areas.crs.to_epsg() == 28992
    assert areas.geometry.iloc[1].equals(shapely.box(1, 0, 2, 1))


def test_a_read_only_store_reads_areas_once_and_gives_each_caller_its_own_copy(tmp_path: Path):
    path = tmp_path / "s.duckdb"
    with Store.open(path, create=True) as store:
        store.write_load(LoadRecord("boundaries", "2024"), {"areas": _areas(["BU1", "BU2"])})
        assert store.cached("n", lambda: store.scalar("SELECT count(*) FROM areas")) == 2
        store.allow_shrink = True
        store.write_load(LoadRecord("boundaries", "2024"), {"areas": _areas(["BU1"])})
        # a writable store computes each time: a write may change the answer
        assert store.cached("n", lambda: store.scalar("SELECT count(*) FROM areas")) == 1
    with Store.open(path, read_only=True) as store:
        calls = []
        assert [store.cached("k", lambda: calls.append(1) or len(calls)) for _ in range(3)] == [1] * 3
        first = store.areas("buurt")
        first.loc[0, "name"] = "gewijzigd"
        first.loc[0, "geometry"] = shapely.box(5, 5, 6, 6)
        again = store.areas("buurt")
        assert again.loc[0, "name"] != "gewijzigd" and again.geometry.iloc[0].equals(shapely.box(0, 0, 1, 1))


def test_a_store_reopened_read_only_knows_what_the_closed_one_read(tmp_path: Path):
    """A forked writer opens its own read-only store: it does not read again what its parent
    read before; a writable store or another file starts afresh."""
    path, other = tmp_path / "s.duckdb", tmp_path / "t.duckdb"
    for name in (path, other):
        with Store.open(name, create=True) as store:
            store.write_load(LoadRecord("boundaries", "2024"), {"areas": _areas(["BU1", "BU2"])})
    with Store.open(path, read_only=True) as first:
        assert first.cached("k", lambda: "gelezen") == "gelezen"
    with Store.open(path, read_only=True) as again:
        assert again.reads_from(first).cached("k", lambda: "opnieuw") == "gelezen"
    with Store.open(other, read_only=True) as elsewhere:
        assert elsewhere.reads_from(first).cached("k", lambda: "opnieuw") == "opnieuw"
    with Store.open(path) as writable:
        assert writable.reads_from(first).cached("k", lambda: "opnieuw") == "opnieuw"


def test_same_slice_twice_replaces_rows_and_retires_lineage(tmp_path: Path):
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        for _ in range(2):
            store.write_load(LoadRecord("boundaries", "2024", rows_read=2, rows_kept=2),
                             {"areas": _areas(["BU1", "BU2"])})
        assert store.scalar("SELECT count(*) FROM areas") == 2
        lineage = store.lineage(active_only=False)
        assert lineage["active"].tolist() == [False, True]
        assert store.lineage()["rows_kept"].tolist() == [2]


def test_failed_load_leaves_store_unchanged(tmp_path: Path):
    path = tmp_path / "s.duckdb"
    with Store.open(path, create=True) as store:
        store.write_load(LoadRecord("boundaries", "2024"), {"areas": _areas(["BU1"])})
        before = (store.query("SELECT * FROM areas"), store.lineage(active_only=False))
        broken = _areas(["BU2", "BU2"])  # duplicate primary key: the insert fails part-way
        with pytest.raises(duckdb.ConstraintException):
            store.write_load(LoadRecord("boundaries", "2024"), {"areas": broken})
        after = (store.query("SELECT * FROM areas"), store.lineage(active_only=False))
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])


def test_lineage_records_file_fingerprint(tmp_path: Path):
    source = tmp_path / "bron.csv"
    source.write_text("a;b\n1;2\n", encoding="utf-8")
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        record = LoadRecord("kvk", "vestigingen", path=source, rows_read=3, rows_kept=1)
        record.reject("onbekende SBI-code", 2)
        store.write_load(record, {})
        row = store.lineage().iloc[0]
    assert row["size"] == source.stat().st_size
    assert len(row["sha256"]) == 64
    assert row["rows_rejected"] == 2 and "onbekende SBI-code" in row["rejects"]
    assert "afgewezen 2: 2 onbekende SBI-code" in record.summary()


def _load(store: Store, codes: list[str], **options: object) -> int:
    record = LoadRecord("boundaries", "2024", rows_read=len(codes), rows_kept=len(codes))
    for name, value in options.items():
        setattr(store, name, value)
    return store.write_load(record, {"areas": _areas(codes)})


def test_a_load_that_shrinks_the_slice_is_refused_unless_allowed(tmp_path: Path):
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        _load(store, [f"BU{i}" for i in range(10)])
        before = store.fingerprint()
        with pytest.raises(InputError, match="zou 10 opgeslagen rijen van boundaries 2024 "
                                             "vervangen door 4 \\(minder dan 50%\\)"):
            _load(store, ["BU1", "BU2", "BU3", "BU4"])
        with pytest.raises(InputError, match="houdt geen rijen over"):
            _load(store, [])
        assert store.fingerprint() == before
        _load(store, ["BU1", "BU2", "BU3", "BU4", "BU5"])  # half is enough
        _load(store, ["BU1"], allow_shrink=True)
        assert store.scalar("SELECT count(*) FROM areas") == 1


def test_undo_brings_back_exactly_what_a_load_replaced(tmp_path: Path):
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        first = _load(store, ["BU1", "BU2"])
        before = store.fingerprint()
        second = _load(store, ["BU1", "BU3"])
        assert store.undoable()["load_id"].tolist() == [second]  # the first was replaced
        done = store.undo()
        assert (done["load_id"], done["removed"], done["restored"]) == (second, 2, 2)
        after = store.fingerprint()
        assert all(after[t] == before[t] for t in ("areas", "archive_areas"))
        assert store.lineage()["load_id"].tolist() == [first]
        with pytest.raises(StoreError, match=rf"lading {second} kan niet .*\(al ongedaan gemaakt"):
            store.undo(second)
        store.undo(first)
        assert store.scalar("SELECT count(*) FROM areas") == 0
        with pytest.raises(StoreError, match="geen lading om ongedaan te maken"):
            store.undo()


def test_a_writable_store_reads_its_areas_again_after_each_load_or_undo(tmp_path: Path):
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        _load(store, ["BU1", "BU2"])
        first = store.areas("buurt")
        first.loc[0, "code"] = "changed by the caller"  # a copy: the store's read is kept
        assert store.areas("buurt")["code"].tolist() == ["BU1", "BU2"]
        second = _load(store, ["BU3", "BU4", "BU5"])
        assert store.areas("buurt")["code"].tolist() == ["BU3", "BU4", "BU5"]
        store.undo(second)
        assert store.areas("buurt")["code"].tolist() == ["BU1", "BU2"]
        with pytest.raises(InputError):
            _load(store, [])  # a failed load changes nothing, and is read as such
        assert store.areas("buurt")["code"].tolist() == ["BU1", "BU2"]


def test_a_load_of_other_rows_keeps_the_areas_read(tmp_path: Path, monkeypatch):
    """A load that writes no areas (the point loads of a session) leaves the areas read as
    they were; one that does, a failed one and an undo make the store read them again."""
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        _load(store, ["BU1", "BU2"])
        reads = []
        read = store._areas
        monkeypatch.setattr(store, "_areas", lambda *a: reads.append(a) or read(*a))
        store.areas("buurt")
        cbs = LoadRecord("cbs", "2024", rows_read=1, rows_kept=1)
        store.write_load(cbs, {"cbs_values": pd.DataFrame(
            {"area_code": ["BU1"], "year": [2024], "variable": ["x"], "value": [1.0],
             "status": [None], "table_id": ["t"]})})
        assert store.areas("buurt")["code"].tolist() == ["BU1", "BU2"] and len(reads) == 1
        second = _load(store, ["BU3", "BU4", "BU5"])
        assert store.areas("buurt")["code"].tolist() == ["BU3", "BU4", "BU5"] and len(reads) == 2
        store.undo(second)
        assert store.areas("buurt")["code"].tolist() == ["BU1", "BU2"] and len(reads) == 3


def test_only_the_last_loads_per_source_keep_their_archive(tmp_path: Path):
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        ids = [_load(store, [f"BU{n}", f"BU{n + 1}"]) for n in range(UNDO_DEPTH + 2)]
        kept = store.query("SELECT DISTINCT replaced_by FROM archive_areas ORDER BY 1")
        assert kept["replaced_by"].tolist() == ids[-UNDO_DEPTH:]


def test_a_version_1_store_is_migrated_and_a_damaged_one_says_how_to_recover(tmp_path: Path):
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute(MIGRATIONS[1])
    con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('crs', 'EPSG:28992')")
    con.close()
    with Store.open(path, read_only=True) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.undoable().empty
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(StoreError, match=r"beschadigd of geen DuckDB-bestand .* herstel: "):
        Store.open(broken, read_only=True)


def test_migration_keeps_sbi_2008_establishments_and_harmonises_them(tmp_path: Path):
    path = tmp_path / "v1.duckdb"
    with duckdb.connect(str(path)) as con:  # a store written by riskmap before both SBI versions
        con.execute(MIGRATIONS[1])
        con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('crs', 'EPSG:28992')")
        con.execute("INSERT INTO establishments (id, sbi, start_date, load_id) VALUES "
                    "('a', '96021', DATE '2020-01-01', 1), ('b', '6201', DATE '2020-01-01', 1)")
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        rows = store.query("SELECT id, sbi, sbi_version, sbi_original, branch, section "
                           "FROM establishments ORDER BY id")
        assert store.scalar("SELECT notes FROM loads") is None
    assert rows.drop(columns="id").fillna("-").values.tolist() == [
        ["96021", 2008, "96021", "kapsalons", "T"], ["6201", 2008, "6201", "-", "K"]]


def test_pseudonyms_and_cells_are_stored_uncompressed_and_kept_by_the_migration(
        tmp_path: Path, monkeypatch):
    path = tmp_path / "v8.duckdb"
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 8)
    with Store.open(path, create=True) as before:  # a store of the schema before, with rows
        con = before.con
        con.execute("INSERT INTO addresses (id, nummeraanduiding, buurt, cell500, load_id) VALUES "
                    "('00aa11bb22cc33dd', NULL, 'BU1', 'E1550N4630', 1), "
                    "('ffee', '0363200000000001', 'BU2', NULL, 1)")
        con.execute("INSERT INTO archive_events (id, kind, date, load_id, replaced_by) VALUES "
                    "('0123456789abcdef', 'bibob', DATE '2024-01-02', 1, 2)")
    monkeypatch.undo()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        rows = store.query("SELECT id, nummeraanduiding, buurt, cell500 FROM addresses "
                           "ORDER BY buurt")
        archived = store.scalar("SELECT id FROM archive_events")
        tables = dict(store.con.execute("SELECT table_name, sql FROM duckdb_tables()").fetchall())
        with pytest.raises(duckdb.ConstraintException):
            store.con.execute("INSERT INTO addresses (id, load_id) VALUES (NULL, 1)")
    assert rows.fillna("-").values.tolist() == [["00aa11bb22cc33dd", "-", "BU1", "E1550N4630"],
                                                ["ffee", "0363200000000001", "BU2", "-"]]
    assert archived == "0123456789abcdef"
    for table, column in PSEUDONYM_COLUMNS + CELL_COLUMNS:
        for name in (table, f"archive_{table}"):
            assert f"{column} VARCHAR USING COMPRESSION Uncompressed" in tables[name]


def test_load_notes_are_kept_in_the_lineage(tmp_path: Path):
    record = LoadRecord("kvk", "vestigingen", rows_read=3, rows_kept=3)
    record.note("geen bedrijfsactiviteit (0002)", 2)
    record.note("niets", 0)
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        store.write_load(record, {})
        assert store.scalar("SELECT notes FROM loads") == '{"geen bedrijfsactiviteit (0002)": 2}'
    assert record.summary().endswith("; bijzonderheden: 2 geen bedrijfsactiviteit (0002)")


def test_insert_by_arrow_and_of_mixed_python_values_gives_the_same_rows(tmp_path: Path):
    rows = pd.DataFrame({
        "kind": pd.array(["meldingen", "controles", None], dtype="str"), "id": ["a", "b", "c"],
        "date": pd.to_datetime(["2025-01-02", "2025-02-03", "2025-03-04"]),
        "amount": [1.5, None, 3.0], "analysis_areas": [["BT1"], None, []],
        "category": ["x", None, float("nan")]})
    mixed = rows.assign(category=[7, "x", None])  # Arrow cannot hold this column: as before
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        for frame in (rows, mixed):
            store.insert("events", frame.assign(kind="k", load_id=1))
        got = store.query("SELECT id, date, amount, analysis_areas, category FROM events")
    assert got["date"].astype(str).tolist() == ["2025-01-02", "2025-02-03", "2025-03-04"] * 2
    assert got["amount"].isna().tolist() == [False, True, False] * 2
    assert [None if a is None or a is pd.NA else list(a) for a in got["analysis_areas"]] == \
        [["BT1"], None, []] * 2
    category = got["category"].astype(object).where(got["category"].notna(), None).tolist()
    assert category == ["x", None, None, "7", "x", None]


@pytest.mark.parametrize("sql", [
    "SELECT * FROM (VALUES (1, 2::BIGINT, 1.5, true, DATE '2024-01-02', TIMESTAMP "
    "'2024-01-02 03:04:05', 'a', [1, 2], 'ab'::BLOB, 3::UTINYINT, 1, false), (NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, 2, true)) t(i, b, d, bo, da, ts, s, l, bl, u, "
    "full_i, full_bo)",
    "SELECT count(*) AS n, sum(range) AS s, avg(range) AS a FROM range(3)",
    "SELECT 'x' AS s, 1 AS i WHERE false",
    "SELECT INTERVAL 3 DAY AS d",
])
def test_a_query_gives_the_types_and_values_duckdb_df_gives(sql: str):
    con = duckdb.connect()
    expected, got = con.execute(sql).df(), result_frame(con, sql)
    assert got.dtypes.astype(str).tolist() == expected.dtypes.astype(str).tolist()
    assert got.shape == expected.shape
    for column in expected:
        for want, have in zip(expected[column], got[column], strict=True):
            assert (want is pd.NA) == (have is pd.NA)
            assert _plain(want) == _plain(have)


def _plain(value: object) -> object:
    return bytes(value) if isinstance(value, bytes | bytearray) else str(value)


def test_an_empty_text_column_can_be_merged_and_parameters_are_passed():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 'a' || range AS code, range AS n FROM range(5)")
    empty = result_frame(con, "SELECT code FROM t WHERE n > ?", [10])
    some = result_frame(con, "SELECT code, n FROM t WHERE n < $top", {"top": 2})
    assert some["code"].tolist() == ["a0", "a1"]
    assert empty.merge(some, on="code", how="outer")["code"].tolist() == ["a0", "a1"]


def test_the_guard_finds_every_kind_of_pseudonym_the_store_holds(demo_run, tmp_path: Path):
    """The privacy guard asks the store which 16-hex tokens in an output are pseudonyms: one of
    each pseudonymised column is found, decimal runs that only look like one are not, and a
    table holding one is not written."""
    project = demo_run.project
    with project.store(read_only=True) as store:
        first = {(table, column): store.scalar(
            f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 1")
            for table, column in PSEUDONYM_COLUMNS}
        # events keep no address pseudonym (minimisation); every other column holds some
        assert [key for key, value in first.items() if value is None] == [("events", "address")]
        held = {value for value in first.values() if value is not None}
        lookalikes = {"2631578947368425", "0123456789abcdef"} - held
        assert store.pseudonyms_among(held | lookalikes) == held
        leaked = pd.DataFrame({"Gebied": ["BU1"], "Kenmerk": [sorted(held)[0]]})
        with pytest.raises(PrivacyError, match="gepseudonimiseerde"):
            write_csv(leaked, tmp_path / "lek.csv", project.guard(store))
    assert not (tmp_path / "lek.csv").exists()
