from pathlib import Path

import duckdb
import pandas as pd
import pytest
import shapely

from riskmap.errors import ProjectError
from riskmap.store import SCHEMA_VERSION, LoadRecord, Store, geometry_to_wkb


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
    with pytest.raises(ProjectError, match="no store here"):
        Store.open(tmp_path / "missing.duckdb")


def test_geometry_round_trips_as_wkb(tmp_path: Path):
    with Store.open(tmp_path / "s.duckdb", create=True) as store:
        store.write_load(LoadRecord("boundaries", "2024"), {"areas": _areas(["BU1", "BU2"])})
        areas = store.areas("buurt")
    assert areas.crs.to_epsg() == 28992
    assert areas.geometry.iloc[1].equals(shapely.box(1, 0, 2, 1))


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
