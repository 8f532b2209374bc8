"""Transactional loads into ``invivo_raw`` and the few reads the rest of the product needs.

A load replaces a partition: one study's rows of a per-study table, or the whole of a global table.
``load_many`` replaces several partitions in one transaction, so a study's tables (or all global
tables) change together or not at all; DuckDB's WAL makes that hold even when the process is killed
mid-load. Records are flattened before the write lock is taken, so the file is held only for the
DELETE and the bulk ``INSERT … SELECT`` from Arrow.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from invivo_pipeline.cytobank_table import CYTOBANK_RESOURCES
from invivo_pipeline.resource_table import RESOURCES, Resource, Scope
from invivo_pipeline.warehouse import schema
from invivo_pipeline.warehouse.duckdb_file import (
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_LOCK_TIMEOUT,
    default_duckdb_path,
    open_reader,
    open_writer,
)
from invivo_pipeline.warehouse.errors import WarehouseError, WarehouseLoadError
from invivo_pipeline.warehouse.flatten import BatchLike, flatten
from invivo_pipeline.warehouse.schema import (
    LOAD_STATE_TABLE,
    SCHEMA,
    Source,
    SqlType,
    TableSpec,
    quote,
)

log = logging.getLogger(__name__)

_CAST_TYPES = frozenset({SqlType.DATE, SqlType.TIMESTAMPTZ, SqlType.JSON})


@dataclass(frozen=True)
class TableLoad:
    """One partition to replace: a study's rows (``study_id``) or a whole global table."""

    resource: str
    batches: Sequence[BatchLike]
    study_id: str | None = None


@dataclass(frozen=True)
class TableLoadResult:
    table: str
    study_id: str | None
    rows_written: int
    rows_deleted: int
    seconds: float
    """Flattening plus DELETE and INSERT of this table (the shared COMMIT is not included)."""
    loaded_at: datetime
    unchanged: bool = False
    """The partition already held exactly these records, so nothing was written."""


@dataclass(frozen=True)
class _Prepared:
    spec: TableSpec
    study_id: str | None
    table: pa.Table
    flatten_seconds: float
    fingerprint: str


class Warehouse:
    """The DuckDB file of the pipeline; every write goes through here."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        resources: Sequence[Resource] = RESOURCES,
    ) -> None:
        self.path = (
            Path(path if path is not None else default_duckdb_path()).expanduser().absolute()
        )
        self.lock_timeout = lock_timeout
        self.busy_timeout = busy_timeout
        self._resources = tuple(resources)
        self.specs: dict[str, TableSpec] = schema.table_specs(self._resources)
        # Every source's schema exists in every file, its tables empty until that source loads,
        # so dbt (which reads all of them) builds whichever sources are configured.
        own = {r.schema for r in self._resources}
        others = [r for r in (*RESOURCES, *CYTOBANK_RESOURCES) if r.schema not in own]
        self._ensured = (*self._resources, *others)

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

    # --- writing -------------------------------------------------------------------------------

    @contextmanager
    def _writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_writer(
            self.path, lock_timeout=self.lock_timeout, busy_timeout=self.busy_timeout
        ) as con:
            schema.ensure_schema(con, self._ensured)
            yield con

    def ensure_schema(self) -> list[str]:
        """Create or migrate the tables now; returns the statements that were run."""
        with open_writer(
            self.path, lock_timeout=self.lock_timeout, busy_timeout=self.busy_timeout
        ) as con:
            return schema.ensure_schema(con, self._ensured)

    def load(
        self, resource_name: str, batches: Iterable[BatchLike], *, study_id: str | None = None
    ) -> TableLoadResult:
        """Replace one partition: ``study_id``'s rows of a per-study table, or a global table."""
        return self.load_many([TableLoad(resource_name, list(batches), study_id)])[0]

    def load_many(self, loads: Iterable[TableLoad]) -> list[TableLoadResult]:
        """Replace several partitions in one transaction: all of them change, or none."""
        with self.session() as session:
            return session.load_many(loads)

    @contextmanager
    def session(self) -> Iterator[LoadSession]:
        """One transaction over any number of ``load_many`` calls, committed when the block ends.

        A run that loads many studies as their pages arrive uses one session, so that a run that
        fails or is killed half-way leaves every table exactly as it was before the run.
        """
        with self._writer() as con:
            con.begin()
            try:
                session = LoadSession(self, con, datetime.now(UTC))
                yield session
                con.commit()
            except duckdb.Error as exc:
                _rollback(con)
                raise WarehouseError(
                    f"committing to {self.path} failed: {str(exc).splitlines()[0]}; "
                    "nothing was loaded"
                ) from exc
            except BaseException:
                _rollback(con)
                raise
        for r in session.results:
            log.info(
                "%s.%s%s: %s",
                self.specs[r.table].schema,
                r.table,
                f" ({self.specs[r.table].scope} {r.study_id})" if r.study_id else "",
                "unchanged"
                if r.unchanged
                else f"{r.rows_written} rows written, {r.rows_deleted} deleted in {r.seconds:.2f} s",
            )

    def _spec(self, name: str) -> TableSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(self.specs)}") from None

    def _prepare(self, item: TableLoad) -> _Prepared:
        spec = self._spec(item.resource)
        if spec.partition_column is not None and not item.study_id:
            raise ValueError(f"{spec.name} is loaded per {spec.scope}: pass study_id")
        if spec.partition_column is None and item.study_id is not None:
            raise ValueError(f"{spec.name} is a global table: it is replaced whole, not per study")
        started = time.perf_counter()
        table = flatten(spec, item.batches, study_id=item.study_id)
        return _Prepared(
            spec, item.study_id, table, time.perf_counter() - started, _fingerprint(spec, table)
        )

    def _write_table(
        self, con: duckdb.DuckDBPyConnection, item: _Prepared, view: str, loaded_at: datetime
    ) -> TableLoadResult:
        """DELETE the partition and INSERT it anew, unless its fingerprint says nothing changed."""
        started = time.perf_counter()
        spec = item.spec
        partition = item.study_id or ""
        stored = con.execute(
            f"SELECT fingerprint FROM {spec.schema}.{LOAD_STATE_TABLE} "
            "WHERE table_name = ? AND partition_key = ?",
            [spec.name, partition],
        ).fetchall()
        if stored and stored[0][0] == item.fingerprint:
            return TableLoadResult(
                table=spec.name,
                study_id=item.study_id,
                rows_written=0,
                rows_deleted=0,
                seconds=item.flatten_seconds + time.perf_counter() - started,
                loaded_at=loaded_at,
                unchanged=True,
            )
        if spec.partition_column is not None:
            deleted = _count(
                con.execute(
                    f"DELETE FROM {spec.qualified_name} WHERE {quote(spec.partition_column)} = ?",
                    [item.study_id],
                )
            )
        else:
            deleted = _count(con.execute(f"DELETE FROM {spec.qualified_name}"))
        written = _count(con.execute(_insert_sql(spec, view), [loaded_at]))
        con.execute(
            f"INSERT OR REPLACE INTO {spec.schema}.{LOAD_STATE_TABLE} VALUES (?, ?, ?, ?, ?)",
            [spec.name, partition, item.fingerprint, written, loaded_at],
        )
        return TableLoadResult(
            table=spec.name,
            study_id=item.study_id,
            rows_written=written,
            rows_deleted=deleted,
            seconds=item.flatten_seconds + time.perf_counter() - started,
            loaded_at=loaded_at,
        )

    # --- reading -------------------------------------------------------------------------------

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-only connection (raises ``WarehouseError`` if nothing was loaded)."""
        with open_reader(self.path, busy_timeout=self.busy_timeout) as con:
            yield con

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(self.specs)

    def primary_key(self, name: str) -> tuple[str, ...]:
        return self._spec(name).primary_key

    def schema_version(self) -> int:
        if not self.path.exists():
            return 0
        with self.reader() as con:
            return schema.schema_version(con, next(iter(self.specs.values())).schema)

    def row_counts(self) -> dict[str, int]:
        """Rows per ``invivo_raw`` table; a table (or file) not created yet counts 0."""
        counts = dict.fromkeys(self.specs, 0)
        if not self.path.exists():
            return counts
        with self.reader() as con:
            existing = _existing_tables(con, {s.schema for s in self.specs.values()})
            present = [s for s in self.specs.values() if (s.schema, s.name) in existing]
            if present:
                query = " UNION ALL ".join(
                    f"SELECT '{s.name}', count(*) FROM {s.qualified_name}" for s in present
                )
                counts.update({name: int(n) for name, n in con.execute(query).fetchall()})
        return counts

    def table_schema(self, name: str) -> list[tuple[str, str]]:
        """``(column, type)`` of a table as it is in the file, types spelled as in the contract."""
        spec = self._spec(name)
        with self.reader() as con:
            rows = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
                "ORDER BY ordinal_position",
                [spec.schema, name],
            ).fetchall()
        if not rows:
            raise WarehouseError(f"{spec.schema}.{name} does not exist in {self.path} yet")
        spelled = {t.catalog_name: t.value for t in SqlType}
        return [(column, spelled.get(data_type, data_type)) for column, data_type in rows]

    def fetch_arrow(self, name: str, *, study_id: str | None = None) -> pa.Table:
        """A table (or one study's rows of it), ordered by primary key."""
        query, params = self._select(name, study_id)
        with self.reader() as con:
            return con.sql(query, params=params).to_arrow_table()

    def fetch_table(self, name: str, *, study_id: str | None = None) -> list[dict[str, Any]]:
        """Rows as dicts (JSON columns as strings), ordered by primary key."""
        query, params = self._select(name, study_id)
        with self.reader() as con:
            cursor = con.execute(query, params)
            columns = [d[0] for d in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def _select(self, name: str, study_id: str | None) -> tuple[str, list[Any]]:
        spec = self._spec(name)
        where, params = ("", [])
        partition = spec.partition_column or "study_id"
        if study_id is not None and partition not in spec.column_names:
            raise ValueError(f"{name} has no {partition} column")
        if study_id is not None:
            where, params = f" WHERE {quote(partition)} = ?", [study_id]
        order = ", ".join(quote(k) for k in spec.primary_key)
        return f"SELECT * FROM {spec.qualified_name}{where} ORDER BY {order}", params


class LoadSession:
    """Loads inside one open transaction (see ``Warehouse.session``)."""

    def __init__(
        self, warehouse: Warehouse, con: duckdb.DuckDBPyConnection, loaded_at: datetime
    ) -> None:
        self._warehouse = warehouse
        self._con = con
        self.loaded_at = loaded_at
        self.results: list[TableLoadResult] = []
        self._seen: set[tuple[str, str | None]] = set()

    def load_many(self, loads: Iterable[TableLoad]) -> list[TableLoadResult]:
        """Replace these partitions inside the session's transaction; each at most once a session."""
        loads = list(loads)
        for item in loads:
            if (item.resource, item.study_id) in self._seen:
                raise ValueError(f"{item.resource} (study {item.study_id}) is loaded twice")
            self._seen.add((item.resource, item.study_id))
        prepared = [self._warehouse._prepare(item) for item in loads]
        results = self.write(prepared)
        self.results.extend(results)
        return results

    def write(self, prepared: Sequence[_Prepared]) -> list[TableLoadResult]:
        con = self._con
        views = [f"__invivo_load_{len(self.results)}_{i}" for i in range(len(prepared))]
        for view, item in zip(views, prepared, strict=True):
            con.register(view, item.table)
        current: tuple[_Prepared, str] | None = None
        try:
            results = []
            for view, item in zip(views, prepared, strict=True):
                current = (item, view)
                results.append(self._warehouse._write_table(con, item, view, self.loaded_at))
            return results
        except duckdb.Error as exc:
            # DuckDB answers nothing in an aborted transaction; a failed write ends the session.
            _rollback(con)
            raise _explain(con, current, exc) from exc
        finally:
            with suppress(duckdb.Error):
                for view in views:
                    con.unregister(view)

    def purge_studies_except(self, study_ids: Sequence[str]) -> dict[str, int]:
        """Delete every per-study row of a study not in ``study_ids`` (the API's current list).

        The API has no "deleted since" feed, so a full list of studies is the only way to learn
        that one was deleted; its rows then go in the same transaction as the new list.
        """
        con = self._con
        con.execute("CREATE OR REPLACE TEMP TABLE __invivo_live_studies (id VARCHAR)")
        if study_ids:
            con.executemany(
                "INSERT INTO __invivo_live_studies VALUES (?)", [[i] for i in study_ids]
            )
        purged: dict[str, int] = {}
        for spec in self._warehouse.specs.values():
            if spec.scope is not Scope.STUDY:
                continue
            deleted = _count(
                con.execute(
                    f"DELETE FROM {spec.qualified_name} "
                    "WHERE study_id NOT IN (SELECT id FROM __invivo_live_studies)"
                )
            )
            if deleted:
                purged[spec.name] = deleted
            con.execute(
                f"DELETE FROM {SCHEMA}.{LOAD_STATE_TABLE} WHERE table_name = ? "
                "AND partition_key NOT IN (SELECT id FROM __invivo_live_studies)",
                [spec.name],
            )
        con.execute("DROP TABLE __invivo_live_studies")
        return purged

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read inside the transaction: checks see what is about to be committed."""
        return self._con.execute(sql, list(params)).fetchall()


def _fingerprint(spec: TableSpec, table: pa.Table) -> str:
    """What a partition holds, independent of when it was loaded: records plus context keys.

    Comparing it with the stored one lets a re-sync of unchanged data leave the table untouched,
    ``_loaded_at`` included, so "nothing changed" is visible to anyone diffing the warehouse.
    """
    digest = hashlib.sha256()
    columns = [c for c in (*spec.context_keys, "_record") if c in table.column_names]
    for column in columns:
        digest.update(column.encode())
        for value in table.column(column).to_pylist():
            encoded = value if isinstance(value, bytes) else str(value).encode()
            digest.update(len(encoded).to_bytes(8, "little"))
            digest.update(encoded)
    return digest.hexdigest()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    # If DuckDB cannot even roll back (an invalidated database), closing the connection discards
    # the uncommitted work all the same; the original error is the one worth reporting.
    with suppress(duckdb.Error):
        con.rollback()


def _count(cursor: duckdb.DuckDBPyConnection) -> int:
    # fetchall, not fetchone: DuckDB 2 refuses other work on a connection with an unfinished result.
    rows = cursor.fetchall()
    return int(rows[0][0]) if rows else 0


def _existing_tables(
    con: duckdb.DuckDBPyConnection, schemas: Iterable[str] = (SCHEMA,)
) -> set[tuple[str, str]]:
    wanted = sorted(schemas)
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND list_contains(?, table_schema)",
        [wanted],
    ).fetchall()
    return {(r[0], r[1]) for r in rows}


def _insert_sql(spec: TableSpec, view: str) -> str:
    """Bulk ``INSERT … SELECT`` from the registered Arrow table; DuckDB does the casts."""
    names: list[str] = []
    values: list[str] = []
    for column in spec.columns:
        names.append(quote(column.name))
        if column.source is Source.LOADED_AT:
            values.append("CAST(? AS TIMESTAMPTZ)")
        elif column.type in _CAST_TYPES:
            values.append(f"CAST({quote(column.name)} AS {column.type})")
        else:
            values.append(quote(column.name))
    return (
        f"INSERT INTO {spec.qualified_name} ({', '.join(names)}) "
        f"SELECT {', '.join(values)} FROM {quote(view)}"
    )


def _explain(
    con: duckdb.DuckDBPyConnection, current: tuple[_Prepared, str] | None, exc: duckdb.Error
) -> WarehouseLoadError:
    """Turn DuckDB's cast error (which names neither column nor record) into one that does."""
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if current is None:
        return WarehouseLoadError(f"load failed: {first_line}; nothing was loaded")
    item, view = current
    spec = item.spec
    keys = [k for k in spec.primary_key if k in item.table.column_names]
    # The view was registered inside the rolled-back transaction; bring it back to search it.
    with suppress(duckdb.Error):
        con.register(view, item.table)
    for column in spec.columns:
        if column.type not in _CAST_TYPES or column.source is Source.LOADED_AT:
            continue
        name = quote(column.name)
        try:
            rows = con.execute(
                f"SELECT {name}, {', '.join(quote(k) for k in keys) or 'NULL'} FROM {quote(view)} "
                f"WHERE {name} IS NOT NULL AND TRY_CAST({name} AS {column.type}) IS NULL LIMIT 1"
            ).fetchall()
        except duckdb.Error:
            continue
        if rows:
            row = rows[0]
            value = row[0] if len(row[0]) <= 80 else row[0][:77] + "..."
            label = ", ".join(f"{k}={v!r}" for k, v in zip(keys, row[1:], strict=False))
            return WarehouseLoadError(
                f"{spec.schema}.{spec.name}.{column.name}: cannot read {value!r} as {column.type} "
                f"(record {label}); nothing was loaded"
            )
    return WarehouseLoadError(
        f"loading {spec.schema}.{spec.name} failed: {first_line}; nothing was loaded"
    )
