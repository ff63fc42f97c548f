"""The project store: one DuckDB file with a versioned schema, lineage and atomic loads.

Geometry is stored as WKB in BLOB columns (EPSG:28992, recorded in ``meta``). Every load writes
its rows and one lineage row inside a single transaction; loading the same slice again replaces
the earlier rows, so loads are idempotent, and a load that fails leaves the store as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import pandas as pd
import shapely

from riskmap.errors import ProjectError, StoreError
from riskmap.fmt import integer

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
CRS = "EPSG:28992"

_AREA_COLUMNS = "buurt VARCHAR, wijk VARCHAR, bedrijventerrein VARCHAR, cell100 VARCHAR, " \
                "cell500 VARCHAR, x DOUBLE, y DOUBLE"

_SCHEMA_V1 = f"""
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE loads (
    load_id INTEGER PRIMARY KEY, source VARCHAR NOT NULL, slice VARCHAR NOT NULL,
    path VARCHAR, size BIGINT, sha256 VARCHAR, api_table VARCHAR,
    rows_read INTEGER, rows_kept INTEGER, rows_rejected INTEGER, rejects VARCHAR,
    boundary_year INTEGER, period_first DATE, period_last DATE,
    loaded_at TIMESTAMP NOT NULL, active BOOLEAN NOT NULL);
CREATE TABLE areas (
    code VARCHAR NOT NULL, level VARCHAR NOT NULL, name VARCHAR, gemeente VARCHAR,
    wijk VARCHAR, year INTEGER NOT NULL, area_ha DOUBLE, geometry BLOB,
    attributes VARCHAR, load_id INTEGER NOT NULL, PRIMARY KEY (code, year));
CREATE TABLE cbs_values (
    area_code VARCHAR NOT NULL, year INTEGER NOT NULL, variable VARCHAR NOT NULL,
    value DOUBLE, status VARCHAR, table_id VARCHAR NOT NULL, load_id INTEGER NOT NULL);
CREATE TABLE establishments (
    id VARCHAR NOT NULL, kvk VARCHAR, sbi VARCHAR, sbi_other VARCHAR, start_date DATE,
    end_date DATE, legal_form VARCHAR, staff INTEGER, address VARCHAR, {_AREA_COLUMNS},
    load_id INTEGER NOT NULL);
CREATE TABLE addresses (
    id VARCHAR NOT NULL, use VARCHAR, floor_area DOUBLE, {_AREA_COLUMNS},
    load_id INTEGER NOT NULL);
CREATE TABLE events (
    kind VARCHAR NOT NULL, id VARCHAR NOT NULL, date DATE NOT NULL, category VARCHAR,
    branch VARCHAR, outcome VARCHAR, source VARCHAR, object VARCHAR, amount DOUBLE,
    address VARCHAR,
    {_AREA_COLUMNS}, load_id INTEGER NOT NULL);
CREATE TABLE builds (
    build_id INTEGER PRIMARY KEY, period VARCHAR NOT NULL, built_at TIMESTAMP NOT NULL,
    settings VARCHAR, load_ids VARCHAR);
CREATE TABLE indicator_values (
    area_code VARCHAR NOT NULL, level VARCHAR NOT NULL, period VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL, value DOUBLE, numerator DOUBLE, denominator DOUBLE,
    suppressed BOOLEAN NOT NULL, reason VARCHAR, index_gemeente DOUBLE, index_nl DOUBLE,
    build_id INTEGER NOT NULL);
CREATE TABLE scores (
    area_code VARCHAR NOT NULL, level VARCHAR NOT NULL, period VARCHAR NOT NULL,
    theme VARCHAR NOT NULL, score DOUBLE, rank INTEGER, rank_median DOUBLE, rank_low DOUBLE,
    rank_high DOUBLE, drivers VARCHAR, change DOUBLE, rank_change INTEGER,
    from_suppressed BOOLEAN, build_id INTEGER NOT NULL);
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, period VARCHAR, settings VARCHAR,
    summary VARCHAR, created_at TIMESTAMP NOT NULL, load_ids VARCHAR);
CREATE TABLE hotspots (
    level VARCHAR NOT NULL, period VARCHAR NOT NULL, variable VARCHAR NOT NULL,
    method VARCHAR NOT NULL, area_code VARCHAR NOT NULL, value DOUBLE, window_sum DOUBLE,
    statistic DOUBLE, z DOUBLE, p_value DOUBLE, q_value DOUBLE, category VARCHAR NOT NULL,
    neighbours INTEGER, run_id INTEGER NOT NULL);
CREATE TABLE emerging_hotspots (
    level VARCHAR NOT NULL, variable VARCHAR NOT NULL, first_period VARCHAR NOT NULL,
    last_period VARCHAR NOT NULL, area_code VARCHAR NOT NULL, category VARCHAR NOT NULL,
    trend_tau DOUBLE, trend_p DOUBLE, hot_periods INTEGER, periods INTEGER,
    run_id INTEGER NOT NULL);
CREATE TABLE predictions (
    level VARCHAR NOT NULL, period VARCHAR NOT NULL, target_period VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL, probability DOUBLE, rank INTEGER, explanation VARCHAR,
    model VARCHAR NOT NULL, run_id INTEGER NOT NULL);
"""

MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1}


@dataclass
class LoadRecord:
    """What one load read, kept and rejected: the lineage row written with its data."""

    source: str
    slice: str
    path: Path | None = None
    api_table: str | None = None
    rows_read: int = 0
    rows_kept: int = 0
    rejects: dict[str, int] = field(default_factory=dict)
    boundary_year: int | None = None
    period_first: Any = None
    period_last: Any = None

    @property
    def rows_rejected(self) -> int:
        """Total rejected rows over all reasons."""
        return sum(self.rejects.values())

    def reject(self, reason: str, count: int) -> None:
        """Count ``count`` rows rejected for ``reason`` (zero counts are not recorded)."""
        if count:
            self.rejects[reason] = self.rejects.get(reason, 0) + int(count)

    def summary(self) -> str:
        """One Dutch line: rows read, kept and rejected by reason (``gelezen 8.173, opgenomen
        8.156; afgewezen 17: ...``)."""
        text = (f"{self.source} ({self.slice}): gelezen {integer(self.rows_read)}, opgenomen "
                f"{integer(self.rows_kept)}")
        if self.rejects:
            reasons = ", ".join(f"{integer(n)} {why}" for why, n in sorted(self.rejects.items()))
            text += f"; afgewezen {integer(self.rows_rejected)}: {reasons}"
        return text


def file_fingerprint(path: Path) -> tuple[int, str]:
    """Size in bytes and sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return path.stat().st_size, digest.hexdigest()


class Store:
    """A project's DuckDB store. Open with :meth:`open`; use as a context manager."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self.con = con

    @classmethod
    def open(cls, path: str | Path, create: bool = False, read_only: bool = False) -> Store:
        """Open (and with ``create=True`` create) a store, applying schema migrations."""
        path = Path(path)
        if not path.exists() and not create:
            raise ProjectError(f"{path}: no store here; run `riskmap init` or a load first")
        try:
            con = duckdb.connect(str(path), read_only=read_only and path.exists())
        except duckdb.Error as exc:
            raise ProjectError(f"{path}: cannot open the store ({exc})") from exc
        store = cls(path, con)
        if not read_only:
            store._migrate()
        return store

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        tables = {r[0] for r in self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        version = 0
        if "meta" in tables:
            version = int(self.scalar("SELECT value FROM meta WHERE key='schema_version'") or 0)
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: store schema {version} is newer than this riskmap "
                             f"({SCHEMA_VERSION}); upgrade riskmap")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                self.con.execute(MIGRATIONS[target])
                self.con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?), "
                                 "('crs', ?)", [str(target), CRS])

    @property
    def schema_version(self) -> int:
        """The schema version of this store."""
        return int(self.scalar("SELECT value FROM meta WHERE key='schema_version'") or 0)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block in one transaction: all of it is written, or none of it."""
        self.con.begin()
        try:
            yield
        except BaseException:
            self.con.rollback()
            raise
        self.con.commit()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a read query and return a DataFrame."""
        return self.con.execute(sql, params or []).df()

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query returning one value (the result is fetched completely, so the
        connection is free for the next query)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def insert(self, table: str, frame: pd.DataFrame) -> None:
        """Insert a DataFrame by column name (inside the caller's transaction)."""
        if frame.empty:
            return
        self.con.register("_incoming", frame)
        try:
            self.con.execute(f'INSERT INTO {table} BY NAME SELECT * FROM "_incoming"')
        finally:
            # after a failed statement the transaction is aborted and unregistering fails too;
            # the view is replaced by the next register call, so the original error is kept
            with suppress(duckdb.TransactionException):
                self.con.unregister("_incoming")

    def write_load(self, record: LoadRecord, tables: dict[str, pd.DataFrame],
                   delete: dict[str, tuple[str, Sequence[Any]]] | None = None) -> int:
        """Replace a slice: retire earlier loads of it, delete their rows, insert the new rows.

        Parameters
        ----------
        record
            Lineage of this load; earlier active loads with the same ``source`` and ``slice``
            are retired and their rows removed.
        tables
            Rows to insert per table; a ``load_id`` column is added.
        delete
            Extra deletions per table, as ``(where_sql, params)``, for slices defined by
            content rather than by load (e.g. a date range of register events).

        Returns
        -------
        int
            The new load's id.
        """
        with self.transaction():
            load_id = int(self.scalar("SELECT coalesce(max(load_id), 0) + 1 FROM loads"))
            old = [r[0] for r in self.con.execute(
                "SELECT load_id FROM loads WHERE source=? AND slice=? AND active",
                [record.source, record.slice]).fetchall()]
            for table in tables:
                if old:
                    marks = ",".join("?" * len(old))
                    self.con.execute(f"DELETE FROM {table} WHERE load_id IN ({marks})", old)
            for table, (where, params) in (delete or {}).items():
                self.con.execute(f"DELETE FROM {table} WHERE {where}", list(params))
            if old:
                self.con.execute(f"UPDATE loads SET active=false WHERE load_id IN "
                                 f"({','.join('?' * len(old))})", old)
            self._retire_emptied(record.source, list(tables))
            for table, frame in tables.items():
                self.insert(table, frame.assign(load_id=load_id))
            self._write_lineage(load_id, record)
        log.debug(record.summary())
        return load_id

    def _retire_emptied(self, source: str, tables: list[str]) -> None:
        """Mark loads of ``source`` inactive once deletions left none of their rows."""
        alive = " OR ".join(f"EXISTS (SELECT 1 FROM {t} WHERE {t}.load_id = loads.load_id)"
                            for t in tables)
        self.con.execute(f"UPDATE loads SET active=false WHERE source=? AND active "
                         f"AND NOT ({alive})", [source])

    def _write_lineage(self, load_id: int, record: LoadRecord) -> None:
        size, sha = file_fingerprint(record.path) if record.path else (None, None)
        self.con.execute(
            "INSERT INTO loads VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,true)",
            [load_id, record.source, record.slice, str(record.path.resolve()) if record.path else None,
             size, sha, record.api_table, record.rows_read, record.rows_kept,
             record.rows_rejected, json.dumps(record.rejects, ensure_ascii=False),
             record.boundary_year, record.period_first, record.period_last, datetime.now()])

    def lineage(self, active_only: bool = True) -> pd.DataFrame:
        """The lineage table: one row per load."""
        where = "WHERE active" if active_only else ""
        return self.query(f"SELECT * FROM loads {where} ORDER BY load_id")

    def areas(self, level: str | None = None, year: int | None = None) -> gpd.GeoDataFrame:
        """Areas as a GeoDataFrame in EPSG:28992 (all levels, or one)."""
        sql = "SELECT code, level, name, gemeente, wijk, year, area_ha, geometry FROM areas"
        clauses: list[str] = []
        params: list[Any] = []
        if level:
            clauses.append("level = ?")
            params.append(level)
        if year:
            clauses.append("year = ?")
            params.append(year)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        frame = self.query(sql + " ORDER BY level, code", params)
        geometry = shapely.from_wkb([bytes(g) for g in frame.pop("geometry")])
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS)

    def require_areas(self, level: str = "buurt") -> None:
        """Raise :class:`StoreError` when no areas of ``level`` are loaded."""
        if not self.scalar("SELECT count(*) FROM areas WHERE level = ?", [level]):
            raise StoreError(f"{self.path}: no {level} boundaries loaded; "
                             f"run `riskmap load boundaries FILE` first")

    def pseudonyms_among(self, tokens: set[str]) -> set[str]:
        """Those of ``tokens`` that are pseudonymised ids held in the store."""
        if not tokens:
            return set()
        self.con.register("_tokens", pd.DataFrame({"t": sorted(tokens)}))
        try:
            found = self.con.execute(
                "SELECT t FROM _tokens WHERE t IN (SELECT id FROM establishments) "
                "OR t IN (SELECT kvk FROM establishments) OR t IN (SELECT address FROM establishments) "
                "OR t IN (SELECT id FROM addresses) OR t IN (SELECT id FROM events) "
                "OR t IN (SELECT address FROM events)").fetchall()
        finally:
            self.con.unregister("_tokens")
        return {row[0] for row in found}

    def table_counts(self) -> dict[str, int]:
        """Row count of every data table."""
        names = ["areas", "cbs_values", "establishments", "addresses", "events",
                 "indicator_values", "scores", "hotspots", "emerging_hotspots", "predictions"]
        return {n: int(self.scalar(f"SELECT count(*) FROM {n}")) for n in names}


def geometry_to_wkb(geoms: gpd.GeoSeries) -> list[bytes]:
    """Geometries as WKB bytes for a BLOB column."""
    return [bytes(b) for b in shapely.to_wkb(geoms.values)]
