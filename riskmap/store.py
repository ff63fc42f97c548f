"""The project store: one DuckDB file with a versioned schema, lineage and atomic loads.

Geometry is stored as WKB in BLOB columns (EPSG:28992, recorded in ``meta``). Every load writes
its rows and one lineage row inside a single transaction; loading the same slice again replaces
the earlier rows, so loads are idempotent, and a load that fails leaves the store as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from riskmap import fmt
from riskmap.errors import InputError, ProjectError, StoreError

if TYPE_CHECKING:  # geopandas and shapely only where geometries are read (a build reads none)
    import geopandas as gpd

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA_VERSION = 10
CRS = "EPSG:28992"
# Tables loads write to; each has an archive_<table> holding the rows a load replaced.
LOADED_TABLES = ("areas", "cbs_values", "establishments", "addresses", "events",
                 "region_names", "establishment_changes")
# Loads per source whose replaced rows are kept, so that `riskmap undo` can bring them back.
UNDO_DEPTH = 3
# the columns that hold pseudonyms (the privacy guard looks up what outputs seem to hold);
# stored without compression (schema 9): a migration that adds one declares it so
PSEUDONYM_COLUMNS = (("establishments", "id"), ("establishments", "kvk"),
                     ("establishments", "address"), ("establishments", "name_key"),
                     ("addresses", "id"), ("addresses", "nummeraanduiding"), ("events", "id"),
                     ("events", "address"))
# Grid cell codes: stored without compression too (see _plain_columns)
CELL_COLUMNS = tuple((table, column) for table in ("addresses", "establishments", "events")
                     for column in ("cell100", "cell500"))
# A load that would leave less than this share of the rows it replaces needs confirmation.
MIN_KEPT_SHARE = 0.5

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

# v3: archives of replaced rows (archive_<table>, with the id of the load that replaced them),
# which loads each load retired, and which loads were undone. (A table loads write to that a
# later migration adds gets its archive in that migration.)
_UNDO_TABLES = "".join(
    f"CREATE TABLE archive_{t} AS SELECT *, NULL::INTEGER AS replaced_by FROM {t} LIMIT 0;\n"
    for t in ("areas", "cbs_values", "establishments", "addresses", "events")) + """
CREATE TABLE retired_loads (load_id INTEGER NOT NULL, retired_load_id INTEGER NOT NULL);
CREATE TABLE undone_loads (load_id INTEGER PRIMARY KEY, undone_at TIMESTAMP NOT NULL,
    rows_removed BIGINT, rows_restored BIGINT);
"""

def _schema_v2(con: duckdb.DuckDBPyConnection) -> None:
    """Both SBI versions: each establishment keeps its code's version and the code as delivered,
    and gets its risk branch and harmonised section; loads record notes (counts of kept rows
    that were read specially, e.g. KvK placeholder codes). Rows loaded before were validated
    against SBI 2008, so they get version 2008 and their branch and section from it."""
    from riskmap.branches import branch_of  # noqa: PLC0415 - reference data, needed only here
    from riskmap.sbi import section_of  # noqa: PLC0415

    con.execute("ALTER TABLE establishments ADD COLUMN sbi_version SMALLINT; "
                "ALTER TABLE establishments ADD COLUMN sbi_original VARCHAR; "
                "ALTER TABLE establishments ADD COLUMN branch VARCHAR; "
                "ALTER TABLE establishments ADD COLUMN section VARCHAR; "
                "ALTER TABLE loads ADD COLUMN notes VARCHAR")
    codes = con.execute("SELECT DISTINCT sbi FROM establishments WHERE sbi IS NOT NULL").df()
    versions = pd.Series(2008, index=codes.index)
    codes["branch"] = branch_of(codes["sbi"], versions)
    codes["section"] = section_of(codes["sbi"], versions)
    con.register("_sbi2008", codes)
    con.execute("UPDATE establishments e SET sbi_version = 2008, sbi_original = e.sbi, "
                "branch = c.branch, section = c.section FROM _sbi2008 c WHERE e.sbi = c.sbi")
    con.unregister("_sbi2008")


# v5: data minimisation: an address keeps its pseudonym, areas, 500 m cell and its kind of use
# (dwelling, ligplaats, standplaats, other); an event no longer points at an address or a 100 m
# cell (nor, for controles, a 500 m cell). released_cells: the cells each quarter publishes from
# the registers, and what is shown of them.
_MINIMISED = """
ALTER TABLE addresses DROP COLUMN floor_area;
UPDATE addresses SET cell100 = NULL,
    use = CASE WHEN use IN ('woonfunctie', 'ligplaats', 'standplaats') THEN use ELSE 'overig' END;
UPDATE events SET address = NULL, cell100 = NULL;
UPDATE events SET cell500 = NULL WHERE kind = 'controles';
UPDATE archive_addresses SET cell100 = NULL,
    use = CASE WHEN use IN ('woonfunctie', 'ligplaats', 'standplaats') THEN use ELSE 'overig' END;
UPDATE archive_events SET address = NULL, cell100 = NULL;
UPDATE archive_events SET cell500 = NULL WHERE kind = 'controles';
CREATE TABLE released_cells (
    period VARCHAR NOT NULL, series VARCHAR NOT NULL, grouping VARCHAR NOT NULL,
    area_code VARCHAR NOT NULL, shown BOOLEAN NOT NULL, reason VARCHAR,
    build_id INTEGER NOT NULL);
"""

# v6: each score says how much of its weight was present and why an area has none; the
# backtest of each quarter's rankings is kept (the track record outputs show).
_COVERAGE = """
ALTER TABLE scores ADD COLUMN coverage DOUBLE;
ALTER TABLE scores ADD COLUMN coverage_note VARCHAR;
CREATE TABLE backtests (
    level VARCHAR NOT NULL, period VARCHAR NOT NULL, evaluated VARCHAR NOT NULL,
    method VARCHAR NOT NULL, k INTEGER NOT NULL, precision_at_k DOUBLE, auc DOUBLE,
    areas INTEGER, positives INTEGER, chosen VARCHAR, run_id INTEGER NOT NULL);
"""

# v7: names of CBS regions outside the project's own areas (every gemeente, Nederland), for the
# comparison with similar gemeenten; loaded with the CBS figures, so archived like them.
_REGION_NAMES = """
CREATE TABLE region_names (
    code VARCHAR NOT NULL, year INTEGER NOT NULL, name VARCHAR NOT NULL,
    load_id INTEGER NOT NULL);
CREATE TABLE archive_region_names AS SELECT *, NULL::INTEGER AS replaced_by
    FROM region_names LIMIT 0;
"""

# v8: analysis-area types (riskmap.areatypes): a point's analysis areas in one list column
# instead of a column per type, the bedrijventerrein codes moved into it (archives too); the
# pseudonymised trade name of an establishment, and the changes of owner, name or main activity
# seen between successive KvK extracts (written by the KvK load, so archived like it).
_POINT_TABLES = ("establishments", "addresses", "events")
_ANALYSIS_AREAS = "".join(
    f"ALTER TABLE {p}{t} ADD COLUMN analysis_areas VARCHAR[];\n"
    f"UPDATE {p}{t} SET analysis_areas = [bedrijventerrein] WHERE bedrijventerrein IS NOT NULL;\n"
    f"ALTER TABLE {p}{t} DROP COLUMN bedrijventerrein;\n"
    for t in _POINT_TABLES for p in ("", "archive_")) + """
ALTER TABLE establishments ADD COLUMN name_key VARCHAR;
CREATE TABLE establishment_changes (
    id VARCHAR NOT NULL, kind VARCHAR NOT NULL, seen DATE NOT NULL, load_id INTEGER NOT NULL);
CREATE TABLE archive_establishment_changes AS SELECT *, NULL::INTEGER AS replaced_by
    FROM establishment_changes LIMIT 0;
"""


def _plain_columns(con: duckdb.DuckDBPyConnection) -> None:
    """The tables with pseudonyms or grid cell codes (and their archives) made again with those
    stored without compression.

    v9, pseudonyms: random hexadecimal text, so DuckDB's dictionary and FSST compression gain
    only half their size and cost most of a load's writing: 10 million BAG addresses (two
    pseudonyms each) go into the store 2.2 s -> 0.8 s, at 200 MB more on disk. v10, grid cell
    codes: 150,000 distinct 500 m cells among 10 million addresses cost DuckDB 1.25 s to
    compress and 0.45 s to write as they are (10 million rows as the BAG load writes them
    3.6 -> 2.7 s), at 90 MB more. DuckDB cannot change a column's compression, so each table
    is made again with the same columns, in the same order (names, types, NOT NULL; these
    tables have no keys or defaults), and its rows copied. Both versions make every such
    column plain, so a store that takes both copies its rows once (see ``Store._migrate``)."""
    plain: dict[str, set[str]] = {}
    for table, column in PSEUDONYM_COLUMNS + CELL_COLUMNS:
        for name in (table, f"archive_{table}"):
            plain.setdefault(name, set()).add(column)
    for table in sorted(plain):
        defined = ", ".join(
            f'"{column}" {kind}'
            + (" USING COMPRESSION uncompressed" if column in plain[table] else "")
            + ("" if nullable else " NOT NULL")
            for column, kind, nullable in con.execute(
                "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
                "WHERE table_name = ? ORDER BY column_index", [table]).fetchall())
        con.execute(f"CREATE TABLE {table}__plain ({defined}); "
                    f"INSERT INTO {table}__plain SELECT * FROM {table}; DROP TABLE {table}; "
                    f"ALTER TABLE {table}__plain RENAME TO {table};")


# The migration that created the archive tables; later ones keep them in step.
ARCHIVES_SINCE = 3
MIGRATIONS: dict[int, str | Callable[[duckdb.DuckDBPyConnection], None]] = {
    1: _SCHEMA_V1, 2: _schema_v2, 3: _UNDO_TABLES,
    # the BAG nummeraanduiding of an address, pseudonymised (NLExtract CSV, BAG GeoPackage)
    4: "ALTER TABLE addresses ADD COLUMN nummeraanduiding VARCHAR;",
    5: _MINIMISED,
    6: _COVERAGE,
    7: _REGION_NAMES,
    8: _ANALYSIS_AREAS,
    9: _plain_columns,
    10: _plain_columns,
}


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
    notes: dict[str, int] = field(default_factory=dict)
    boundary_year: int | None = None
    period_first: Any = None
    period_last: Any = None
    # size and sha256 of the file (file_fingerprint), where the loader made them while it read
    # the file; else they are made as the lineage is written
    fingerprint: tuple[int, str] | None = None

    @property
    def rows_rejected(self) -> int:
        """Total rejected rows over all reasons."""
        return sum(self.rejects.values())

    def reject(self, reason: str, count: int) -> None:
        """Count ``count`` rows rejected for ``reason`` (zero counts are not recorded)."""
        if count:
            self.rejects[reason] = self.rejects.get(reason, 0) + int(count)

    def note(self, what: str, count: int) -> None:
        """Count ``count`` kept rows that were read specially (zero counts are not recorded)."""
        if count:
            self.notes[what] = self.notes.get(what, 0) + int(count)

    def summary(self) -> str:
        """One Dutch line: rows read, kept and rejected by reason (``gelezen 8.173, opgenomen
        8.156; afgewezen 17: ...``)."""
        text = (f"{self.source} ({self.slice}): gelezen {fmt.integer(self.rows_read)}, opgenomen "
                f"{fmt.integer(self.rows_kept)}")
        if self.rejects:
            reasons = ", ".join(f"{fmt.integer(n)} {why}" for why, n in sorted(self.rejects.items()))
            text += f"; afgewezen {fmt.integer(self.rows_rejected)}: {reasons}"
        if self.notes:
            text += "; bijzonderheden: " + ", ".join(
                f"{fmt.integer(n)} {what}" for what, n in sorted(self.notes.items()))
        return text


# A boolean column of this name in a frame to write selects the rows written: a loader that
# drops a few of ten million rows leaves that to DuckDB as it writes, instead of copying the rest.
KEEP = "_keep"


def file_fingerprint(path: Path) -> tuple[int, str]:
    """Size in bytes and sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return path.stat().st_size, digest.hexdigest()


class Store:
    """A project's DuckDB store. Open with :meth:`open`; use as a context manager."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection,
                 read_only: bool = False) -> None:
        self.path = path
        self.con = con
        self.read_only = read_only
        self._cached: dict[Hashable, Any] = {}  # see :meth:`cached`
        # areas read from a writable store since its last transaction (see :meth:`areas`)
        self._areas_read: dict[tuple[str | None, int | None], gpd.GeoDataFrame] = {}
        # what a load may delete: set by the caller (see :meth:`write_load`)
        self.min_kept_share = MIN_KEPT_SHARE
        self.allow_shrink = False

    @classmethod
    def open(cls, path: str | Path, create: bool = False, read_only: bool = False) -> Store:
        """Open (and with ``create=True`` create) a store, applying schema migrations.

        Raises
        ------
        StoreError
            When the file is in use by another process, or is not a readable DuckDB store
            (the message says how to recover).
        """
        path = Path(path)
        if not path.exists() and not create:
            raise ProjectError(f"{path}: hier is geen opslag; maak een project met `riskmap init "
                               f"-p MAP --gemeente GM....` en laad een bron")
        new = not path.exists()
        read_only = read_only and not new
        mask = os.umask(0o077)  # a new store (and its WAL) is readable by its owner only
        try:
            store = cls(path, duckdb.connect(str(path), read_only=read_only), read_only)
            version = store._version()
            if not read_only:
                store._migrate(version)
        except duckdb.Error as exc:
            raise store_error(path, exc) from exc
        finally:
            os.umask(mask)
        if new:
            path.chmod(0o600)
        if read_only and version < SCHEMA_VERSION:  # an older store is migrated once, then read
            store.close()
            cls.open(path).close()
            return cls.open(path, read_only=True)
        return store

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, once per ``key`` while a read-only store is open (no process can
        write to it meanwhile); on a writable store, each time it is asked."""
        if not self.read_only:
            return compute()
        if key not in self._cached:
            self._cached[key] = compute()
        return cast(T, self._cached[key])

    def reads_from(self, other: Store) -> Store:
        """This store, knowing what ``other`` (of the same file, both read-only; closed or not)
        has read once (:meth:`cached`): a forked writer does not read again what its parent
        read before it forked."""
        if self.read_only and other.read_only and Path(other.path) == Path(self.path):
            self._cached.update(other._cached)
        return self

    def _version(self) -> int:
        # asked of meta itself: listing the tables first cost a read-only open a fifth more
        try:
            return int(self.scalar("SELECT value FROM meta WHERE key='schema_version'") or 0)
        except duckdb.CatalogException:  # no meta: a new file
            return 0

    def _migrate(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: het schema van de opslag ({version}) is nieuwer dan deze "
                             f"riskmap ({SCHEMA_VERSION}); werk riskmap bij")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                step = MIGRATIONS[target]
                if target < SCHEMA_VERSION and MIGRATIONS[target + 1] is step:
                    pass  # the next version does it again (v9 and v10 copy the same tables)
                elif callable(step):
                    step(self.con)
                else:
                    self.con.execute(step)
                if target > ARCHIVES_SINCE:
                    self._sync_archives()
                self.con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?), "
                                 "('crs', ?)", [str(target), CRS])

    def _sync_archives(self) -> None:
        """Give each archive table the columns its table has after a migration, so archived rows
        are written and restored by name whatever later migrations add or drop."""
        columns: dict[str, dict[str, str]] = {}
        for table, column, kind in self.con.execute(
                "SELECT table_name, column_name, data_type FROM duckdb_columns() "
                "WHERE table_name IN (SELECT unnest(?)) ORDER BY table_name, column_index",
                [[*LOADED_TABLES, *(f"archive_{t}" for t in LOADED_TABLES)]]).fetchall():
            columns.setdefault(table, {})[column] = kind
        for table in LOADED_TABLES:
            live = columns.get(table, {})
            kept = columns.get(f"archive_{table}", {}).keys() - {"replaced_by"}
            for column in live.keys() - kept:
                self.con.execute(f'ALTER TABLE archive_{table} ADD COLUMN "{column}" '
                                 f"{live[column]}")
            for column in kept - live.keys():
                self.con.execute(f'ALTER TABLE archive_{table} DROP COLUMN "{column}"')

    @property
    def schema_version(self) -> int:
        """The schema version of this store."""
        return int(self.scalar("SELECT value FROM meta WHERE key='schema_version'") or 0)

    @contextmanager
    def transaction(self, areas: bool = True) -> Iterator[None]:
        """Run a block in one transaction: all of it is written, or none of it.
        ``areas=False``: the block writes no areas, so the areas read before stay as read
        (the point loads of a session each read them again: 0.03 s a load for a gemeente)."""
        self.con.begin()
        try:
            yield
        except BaseException:
            self.con.rollback()
            raise
        finally:
            if areas:
                self._areas_read.clear()  # areas are written in transactions only
        self.con.commit()

    @contextmanager
    def registered(self, name: str, frame: pd.DataFrame) -> Iterator[None]:
        """``frame`` readable as the view ``name`` by the queries of a block (joined in the store
        instead of reading a table into memory)."""
        self.con.register(name, frame)
        try:
            yield
        finally:
            self.con.unregister(name)

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
              ) -> pd.DataFrame:
        """Run a read query and return a DataFrame (see :func:`result_frame`)."""
        return result_frame(self.con, sql, params)

    def side_query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
                   ) -> pd.DataFrame:
        """:meth:`query` on a connection of its own (a cursor of this store's), which a thread
        may run while this store's connection runs other queries."""
        with self.con.cursor() as con:
            return result_frame(con, sql, params)

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query returning one value (the result is fetched completely, so the
        connection is free for the next query)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def insert(self, table: str, frame: pd.DataFrame) -> None:
        """Insert a DataFrame by column name (inside the caller's transaction); where it has a
        :data:`KEEP` column, only the rows it marks."""
        if frame.empty:
            return
        rows = f'* EXCLUDE ("{KEEP}") FROM "_incoming" WHERE "{KEEP}"' if KEEP in frame \
            else '* FROM "_incoming"'
        self.con.register("_incoming", _as_arrow(frame))
        try:
            self.con.execute(f'INSERT INTO {table} BY NAME SELECT {rows}')
        finally:
            # after a failed statement the transaction is aborted and unregistering fails too;
            # the view is replaced by the next register call, so the original error is kept
            with suppress(duckdb.TransactionException):
                self.con.unregister("_incoming")

    def write_load(self, record: LoadRecord, tables: dict[str, pd.DataFrame],
                   delete: dict[str, tuple[str, Sequence[Any]]] | None = None) -> int:
        """Replace a slice: retire earlier loads of it, archive and delete their rows, insert
        the new rows.

        The replaced rows move to ``archive_<table>`` (kept for the last :data:`UNDO_DEPTH`
        loads of each source), so :meth:`undo` can bring them back.

        Parameters
        ----------
        record
            Lineage of this load; earlier active loads with the same ``source`` and ``slice``
            are retired and their rows removed.
        tables
            Rows to insert per table (those a :data:`KEEP` column marks, where there is one); a
            ``load_id`` column is added.
        delete
            Extra deletions per table, as ``(where_sql, params)``, for slices defined by
            content rather than by load (e.g. a date range of register events).

        Returns
        -------
        int
            The new load's id.

        Raises
        ------
        InputError
            When the load keeps no rows of its first table, or fewer than
            :attr:`min_kept_share` of the rows of that table it replaces, and
            :attr:`allow_shrink` is not set; nothing is written then.
        """
        with self.transaction(areas="areas" in tables or "areas" in (delete or {})):
            load_id = int(self.scalar("SELECT coalesce(max(load_id), 0) + 1 FROM loads"))
            old = [r[0] for r in self.con.execute(
                "SELECT load_id FROM loads WHERE source=? AND slice=? AND active",
                [record.source, record.slice]).fetchall()]
            active_before = self._active_loads()
            removed = {}
            for table in set(tables) | set(delete or {}):
                where, params = _replaced_rows(old if table in tables else [],
                                               (delete or {}).get(table))
                if where:
                    removed[table] = self._archive(table, where, params, load_id)
            if tables:  # the first table is the load's own rows; the others derive from them
                main = next(iter(tables))
                self._check_shrink(record, removed.get(main, 0), kept_rows(tables[main]))
            if old:
                self.con.execute(f"UPDATE loads SET active=false WHERE load_id IN "
                                 f"({','.join('?' * len(old))})", old)
            self._retire_emptied(record.source, list(tables))
            for table, frame in tables.items():
                self.insert(table, frame.assign(load_id=load_id))
            self._write_lineage(load_id, record)
            for retired in sorted(active_before - self._active_loads()):
                self.con.execute("INSERT INTO retired_loads VALUES (?, ?)", [load_id, retired])
            self._prune_archives(record.source)
        log.debug(record.summary())
        return load_id

    def _active_loads(self) -> set[int]:
        return {r[0] for r in self.con.execute("SELECT load_id FROM loads WHERE active").fetchall()}

    def _archive(self, table: str, where: str, params: Sequence[Any], load_id: int) -> int:
        """Move the rows of ``table`` matching ``where`` to its archive; return their count."""
        moved = self.con.execute(f"INSERT INTO archive_{table} BY NAME SELECT *, ? AS replaced_by "
                                 f"FROM {table} "
                                 f"WHERE {where}", [load_id, *params]).fetchall()[0][0]
        self.con.execute(f"DELETE FROM {table} WHERE {where}", list(params))
        return int(moved)

    def _check_shrink(self, record: LoadRecord, removed: int, inserted: int) -> None:
        if self.allow_shrink:
            return
        where = str(record.path) if record.path else record.api_table or record.source
        what = f"{record.source} {record.slice}".strip()
        if inserted == 0:
            raise InputError(f"{where}: deze lading houdt geen rijen over ({record.summary()}) en "
                             f"zou {fmt.integer(removed)} opgeslagen rijen van {what} "
                             f"verwijderen; controleer het bestand, of bevestig met --vervang")
        if inserted < self.min_kept_share * removed:
            raise InputError(f"{where}: deze lading zou {fmt.integer(removed)} opgeslagen rijen "
                             f"van {what} vervangen door {fmt.integer(inserted)} (minder dan "
                             f"{fmt.percent(self.min_kept_share)}); controleer het bestand, of "
                             f"bevestig met --vervang (terug te draaien met `riskmap undo`)")

    def _prune_archives(self, source: str) -> None:
        """Drop archived rows of all but the last :data:`UNDO_DEPTH` loads of ``source`` (no
        statement per table while a source has no more loads than that)."""
        older = [row[0] for row in self.con.execute(
            f"SELECT load_id FROM loads WHERE source = ? ORDER BY load_id DESC "
            f"OFFSET {UNDO_DEPTH}", [source]).fetchall()]
        if not older:
            return
        for table in LOADED_TABLES:
            self.con.execute(f"DELETE FROM archive_{table} WHERE replaced_by IN "
                             f"({','.join('?' * len(older))})", older)

    def undoable(self) -> pd.DataFrame:
        """Loads that :meth:`undo` can take back, newest first: their rows now in the store and
        the archived rows that would come back."""
        frame = self.query(
            f"SELECT load_id, source, slice, loaded_at FROM loads WHERE active AND load_id NOT IN "
            f"(SELECT load_id FROM undone_loads) AND load_id IN (SELECT load_id FROM loads l "
            f"WHERE (SELECT count(*) FROM loads m WHERE m.source = l.source "
            f"AND m.load_id > l.load_id) < {UNDO_DEPTH}) ORDER BY load_id DESC")
        free = [self._undo_blocker(int(i)) is None for i in frame["load_id"]]
        frame = frame.loc[np.array(free, dtype=bool)]
        frame["rows"] = [self._count_rows("", int(i)) for i in frame["load_id"]]
        frame["restores"] = [self._count_rows("archive_", int(i), "replaced_by")
                             for i in frame["load_id"]]
        return frame.reset_index(drop=True)

    def _count_rows(self, prefix: str, load_id: int, column: str = "load_id") -> int:
        return sum(int(self.scalar(f"SELECT count(*) FROM {prefix}{t} WHERE {column} = ?",
                                   [load_id])) for t in LOADED_TABLES)

    def _undo_blocker(self, load_id: int) -> int | None:
        """A later load that replaced rows of ``load_id`` (it must be undone first)."""
        later = [self.scalar(f"SELECT min(replaced_by) FROM archive_{t} WHERE load_id = ?",
                             [load_id]) for t in LOADED_TABLES]
        found = [int(v) for v in later if v is not None]
        return min(found) if found else None

    def undo(self, load_id: int | None = None) -> dict[str, Any]:
        """Take back a load: delete its rows and bring back, exactly, the rows it replaced.

        Parameters
        ----------
        load_id
            The load to undo; by default the newest load that can be undone.

        Returns
        -------
        dict
            ``load_id``, ``source``, ``slice``, ``removed`` and ``restored`` row counts.

        Raises
        ------
        StoreError
            When there is nothing to undo, or the load cannot be undone (undone already,
            replaced by a later load, or its archive no longer kept).
        """
        candidates = self.undoable()
        if load_id is None:
            if candidates.empty:
                raise StoreError(f"{self.path}: er is geen lading om ongedaan te maken")
            load_id = int(candidates["load_id"].iloc[0])
        if load_id not in set(candidates["load_id"]):
            raise StoreError(f"{self.path}: lading {load_id} kan niet ongedaan worden gemaakt "
                             f"({self._why_not_undoable(load_id)}); zie `riskmap status`")
        row = self.query("SELECT source, slice FROM loads WHERE load_id = ?", [load_id]).iloc[0]
        removed = restored = 0
        with self.transaction():
            for table in LOADED_TABLES:
                removed += int(self.con.execute(f"DELETE FROM {table} WHERE load_id = ?",
                                                [load_id]).fetchall()[0][0])
                restored += int(self.con.execute(
                    f"INSERT INTO {table} BY NAME SELECT * EXCLUDE (replaced_by) FROM "
                    f"archive_{table} WHERE replaced_by = ?", [load_id]).fetchall()[0][0])
                self.con.execute(f"DELETE FROM archive_{table} WHERE replaced_by = ?", [load_id])
            self.con.execute("UPDATE loads SET active = false WHERE load_id = ?", [load_id])
            self.con.execute("UPDATE loads SET active = true WHERE load_id IN (SELECT "
                             "retired_load_id FROM retired_loads WHERE load_id = ?)", [load_id])
            self.con.execute("INSERT INTO undone_loads VALUES (?, ?, ?, ?)",
                             [load_id, datetime.now(), removed, restored])
        log.debug("undid load %d (%s %s): %s rows removed, %s restored", load_id, row["source"],
                 row["slice"], f"{removed:,}", f"{restored:,}")
        return {"load_id": load_id, "source": row["source"], "slice": row["slice"],
                "removed": removed, "restored": restored}

    def _why_not_undoable(self, load_id: int) -> str:
        found = self.query("SELECT active FROM loads WHERE load_id = ?", [load_id])
        if found.empty:
            return "die lading bestaat niet"
        if self.scalar("SELECT count(*) FROM undone_loads WHERE load_id = ?", [load_id]):
            return "al ongedaan gemaakt"
        blocker = self._undo_blocker(load_id)
        if blocker is not None:
            return f"lading {blocker} verving een deel ervan; maak die eerst ongedaan"
        if not found["active"].iloc[0]:
            return "vervangen door een latere lading; maak die eerst ongedaan"
        return f"alleen de laatste {UNDO_DEPTH} ladingen per bron worden bewaard"

    def _retire_emptied(self, source: str, tables: list[str]) -> None:
        """Mark loads of ``source`` inactive once deletions left none of their rows."""
        if not tables:
            return
        alive = " OR ".join(f"EXISTS (SELECT 1 FROM {t} WHERE {t}.load_id = loads.load_id)"
                            for t in tables)
        self.con.execute(f"UPDATE loads SET active=false WHERE source=? AND active "
                         f"AND NOT ({alive})", [source])

    def _write_lineage(self, load_id: int, record: LoadRecord) -> None:
        size, sha = record.fingerprint or (file_fingerprint(record.path) if record.path
                                           else (None, None))
        self.con.execute(
            "INSERT INTO loads VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,true,?)",
            [load_id, record.source, record.slice, str(record.path.resolve()) if record.path else None,
             size, sha, record.api_table, record.rows_read, record.rows_kept,
             record.rows_rejected, json.dumps(record.rejects, ensure_ascii=False),
             record.boundary_year, record.period_first, record.period_last, datetime.now(),
             json.dumps(record.notes, ensure_ascii=False)])

    def lineage(self, active_only: bool = True) -> pd.DataFrame:
        """The lineage table: one row per load."""
        where = "WHERE active" if active_only else ""
        return self.query(f"SELECT * FROM loads {where} ORDER BY load_id")

    def areas(self, level: str | None = None, year: int | None = None) -> gpd.GeoDataFrame:
        """Areas as a GeoDataFrame in EPSG:28992 (all levels, or one); a copy of what a
        read-only store read once (see :meth:`cached`), or a writable one read since its last
        transaction that may have written areas (the loads of a session each place their rows
        in the same buurten)."""
        if self.read_only:
            return self.cached(("areas", level, year), lambda: self._areas(level, year)).copy()
        if (level, year) not in self._areas_read:
            self._areas_read[level, year] = self._areas(level, year)
        return self._areas_read[level, year].copy()

    def _areas(self, level: str | None, year: int | None) -> gpd.GeoDataFrame:
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
        import geopandas as gpd  # noqa: PLC0415 - see the imports
        import shapely  # noqa: PLC0415

        frame = self.query(sql + " ORDER BY level, code", params)
        geometry = shapely.from_wkb([bytes(g) for g in frame.pop("geometry")])
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS)

    def require_areas(self, level: str = "buurt") -> None:
        """Raise :class:`StoreError` when no areas of ``level`` are loaded."""
        if not self.scalar("SELECT count(*) FROM areas WHERE level = ?", [level]):
            raise StoreError(f"{self.path}: geen grenzen van niveau {level} geladen; laad ze eerst met "
                             f"`riskmap load boundaries BESTAND`")

    def pseudonyms_among(self, tokens: set[str]) -> set[str]:
        """Those of ``tokens`` that are pseudonymised ids held in the store."""
        if not tokens:
            return set()
        # each column is joined to the tokens (the hash table is made of the few tokens, not of
        # the ten million addresses: a national history table's 14,000 decimal runs that look
        # like pseudonyms were looked up in 1.6 s, now 0.3 s)
        with self.registered("_tokens", pd.DataFrame({"t": sorted(tokens)})):
            found = self.con.execute(" UNION ".join(
                f"SELECT v FROM (SELECT {column} AS v FROM {table}) SEMI JOIN _tokens ON v = t"
                for table, column in PSEUDONYM_COLUMNS)).fetchall()
        return {row[0] for row in found}

    def fingerprint(self) -> dict[str, tuple[int, str]]:
        """Row count and an order-independent hash of the rows (the sum of DuckDB's 64-bit row
        hashes) of every table: equal fingerprints mean equal contents, e.g. before a refused
        load and after it."""
        names = [r[0] for r in self.con.execute(
            "SELECT table_name FROM duckdb_tables() ORDER BY table_name").fetchall()]
        prints = {}
        for name in names:
            rows, total = self.con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0)::VARCHAR "
                                           f"FROM {name} t").fetchall()[0]
            prints[name] = (int(rows), str(total))
        return prints

    def meta(self, key: str) -> str | None:
        """A value of the store's ``meta`` table (``None`` when not set)."""
        return self.scalar("SELECT value FROM meta WHERE key = ?", [key])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in the store's ``meta`` table."""
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def table_counts(self) -> dict[str, int]:
        """Row count of every data table."""
        names = ["areas", "cbs_values", "establishments", "addresses", "events",
                 "indicator_values", "scores", "hotspots", "emerging_hotspots", "predictions"]
        return {n: int(self.scalar(f"SELECT count(*) FROM {n}")) for n in names}


def keep_only(frame: pd.DataFrame, rows: np.ndarray) -> None:
    """Have :meth:`Store.insert` write only ``rows`` (boolean) of ``frame``: marked in a
    :data:`KEEP` column, in place (nothing to mark where every row is kept), so that a loader
    that drops a few of millions of rows does not copy the rest."""
    if not rows.all():
        frame[KEEP] = rows


def kept_rows(frame: pd.DataFrame) -> int:
    """The number of rows of ``frame`` :meth:`Store.insert` writes."""
    return int(frame[KEEP].sum()) if KEEP in frame else len(frame)


# the pandas types ``df()`` gives integer and boolean columns with NULLs
_NULLABLE: dict[pa.DataType, Any] = {
    pa.bool_(): pd.BooleanDtype(), pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(), pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype()}


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def result_frame(con: duckdb.DuckDBPyConnection, sql: str,
                 params: Sequence[Any] | Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The rows of a read query as DuckDB's ``df()`` gives them, through Arrow.

    With pandas 3, ``df()`` makes a Python string of every text value and pandas then copies
    them into its Arrow-backed strings; through Arrow the text is copied once, without Python
    objects (the national release's 500,000 events: 1.0 -> 0.3 s; a query of a few rows is
    not slower). The column types are those of ``df()``: decimals and ``HUGEINT`` (``sum``)
    as floats, dates as ``datetime64[us]``, integers and booleans with NULLs as pandas'
    nullable types; a type Arrow gives otherwise (interval, UUID, map) is left to ``df()``.
    """
    relation = con.sql(sql, params=params or None)
    if relation is None:
        raise ValueError(f"geen leesopdracht: {sql[:60]}")
    table = relation.to_arrow_table()
    nullable: list[tuple[int, Any]] = []
    missing: list[int] = []
    for i, column in enumerate(table.columns):
        kind = column.type
        if isinstance(kind, pa.ExtensionType) or pa.types.is_interval(kind) \
                or pa.types.is_map(kind):
            return relation.df()
        if pa.types.is_decimal(kind):
            table = table.set_column(i, table.field(i).name, column.cast(pa.float64()))
        elif pa.types.is_date(kind):
            table = table.set_column(i, table.field(i).name, column.cast(pa.timestamp("us")))
        elif column.null_count and (pa.types.is_integer(kind) or pa.types.is_boolean(kind)):
            nullable.append((i, _NULLABLE[kind]))
        elif column.null_count and not pa.types.is_null(kind) and not _is_text(kind) \
                and not pa.types.is_floating(kind) and not pa.types.is_timestamp(kind) \
                and not pa.types.is_duration(kind):
            missing.append(i)  # a list, struct or blob: NULL is pd.NA, as df() gives it
    frame = table.to_pandas(date_as_object=False)
    if not table.num_rows:  # empty text as df() gives it (pandas cannot merge Arrow's)
        for i, column in enumerate(table.columns):
            if _is_text(column.type):
                frame.isetitem(i, pd.Series([], dtype=object))
    for i, dtype in nullable:
        frame.isetitem(i, pd.Series(dtype.__from_arrow__(table.column(i)), index=frame.index))
    for i in missing:
        valid = table.column(i).is_valid().to_numpy(zero_copy_only=False)
        frame.isetitem(i, frame.iloc[:, i].where(valid, pd.NA))
    return frame


def _as_arrow(frame: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """``frame`` as an Arrow table, which DuckDB inserts in about half the time of a DataFrame
    (Arrow-backed text columns are not copied); the frame itself where Arrow cannot hold a
    column (mixed Python types), which DuckDB then converts as before."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return frame


def _replaced_rows(old_loads: list[int], extra: tuple[str, Sequence[Any]] | None
                   ) -> tuple[str, list[Any]]:
    """The WHERE clause (and parameters) of the rows of a table a load replaces: those of
    ``old_loads``, and those ``extra`` selects."""
    clauses, params = [], []
    if old_loads:
        clauses.append(f"load_id IN ({','.join('?' * len(old_loads))})")
        params += old_loads
    if extra:
        clauses.append(f"({extra[0]})")
        params += list(extra[1])
    return " OR ".join(clauses), params


STORE_RECOVERY = ("zet een reservekopie van het bestand terug, of verplaats het en laad de "
                  "bronnen opnieuw in een nieuwe opslag (welke bronnen: zie logs/)")


def store_error(path: Path, exc: BaseException) -> StoreError:
    """One line for a store DuckDB cannot open or read: in use elsewhere, or damaged."""
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "lock" in detail.lower():
        return StoreError(f"{path}: de opslag is in gebruik door een ander proces; probeer het "
                          f"opnieuw als dat klaar is ({detail})")
    return StoreError(f"{path}: de opslag is beschadigd of geen DuckDB-bestand ({detail}); "
                      f"herstel: {STORE_RECOVERY}")


def geometry_to_wkb(geoms: gpd.GeoSeries) -> list[bytes]:
    """Geometries as WKB bytes for a BLOB column."""
    import shapely  # noqa: PLC0415 - see the imports

    return [bytes(b) for b in shapely.to_wkb(geoms.values)]
