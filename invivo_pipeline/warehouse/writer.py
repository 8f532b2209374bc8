"""Transactional loads into a source's raw tables (the few reads the rest of the product needs
are in ``reader``).

A load replaces a partition: one study's rows of a per-study table, or the whole of a global table.
``load_many`` replaces several partitions in one transaction, so a study's tables (or all global
tables) change together or not at all; DuckDB's WAL makes that hold even when the process is killed
mid-load. Records are flattened before the write lock is taken, so the file is held only for the
DELETE and the bulk ``INSERT … SELECT`` from Arrow.

Records set aside (``PartitionBuilder.rejects``) go to ``<schema>._rejected`` in the same
transaction: a partition's reject rows are replaced whenever the partition is loaded, so a record
fixed at the source loads on the next sync and its reject row goes.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from invivo_pipeline.core.resource_spec import Resource
from invivo_pipeline.warehouse import schema
from invivo_pipeline.warehouse.duckdb_file import (
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_LOCK_TIMEOUT,
    default_duckdb_path,
    open_writer,
)
from invivo_pipeline.warehouse.errors import WarehouseError, WarehouseLoadError
from invivo_pipeline.warehouse.flatten import BatchLike
from invivo_pipeline.warehouse.partition_rows import FilledPartition, PartitionBuilder
from invivo_pipeline.warehouse.reader import WarehouseReader
from invivo_pipeline.warehouse.schema import (
    LOAD_STATE_TABLE,
    REJECTED_TABLE,
    Source,
    SqlType,
    TableSpec,
    quote,
)

log = logging.getLogger(__name__)

ARROW_SCAN_NAME = "invivo_load_rows"
"""The local variable an INSERT reads its Arrow rows from (see ``Warehouse._write_table``)."""
_CAST_TYPES = frozenset({SqlType.DATE, SqlType.TIMESTAMPTZ})
"""Columns that reach DuckDB as strings and are typed in the INSERT. JSON arrives typed (Arrow's
JSON extension type), as text already known to be JSON, so it is not parsed a second time."""


@dataclass(frozen=True)
class TableLoad:
    """One partition to replace: the rows of one partition (``partition_key``: a study, an
    experiment) or a whole global table."""

    resource: str
    batches: Sequence[BatchLike]
    partition_key: str | None = None


@dataclass(frozen=True)
class TableLoadResult:
    table: str
    partition_key: str | None
    rows_written: int
    rows_deleted: int
    seconds: float
    """Flattening plus DELETE and INSERT of this table (the shared COMMIT is not included)."""
    loaded_at: datetime
    unchanged: bool = False
    """The partition already held exactly these records, so nothing was written."""
    rejected: int = 0
    """Records of the partition set aside in ``_rejected`` instead of loaded."""


@dataclass(frozen=True)
class _Group:
    """The changed partitions of one table in one write: one DELETE and one INSERT for all."""

    spec: TableSpec
    partitions: list[tuple[FilledPartition, str]]
    """Each builder with its fingerprint."""
    table: pa.Table


class Warehouse(WarehouseReader):
    """The DuckDB file of the pipeline; every write goes through here (reads: ``WarehouseReader``)."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        resources: Sequence[Resource],
        ensure_also: Sequence[Resource] = (),
    ) -> None:
        """``resources``: the tables this warehouse writes. ``ensure_also``: further tables that
        must exist in the file (``catalog.registered()``: every source's, since dbt reads them)."""
        self.path = (
            Path(path if path is not None else default_duckdb_path()).expanduser().absolute()
        )
        self.lock_timeout = lock_timeout
        self.busy_timeout = busy_timeout
        self._resources = tuple(resources)
        self.specs: dict[str, TableSpec] = schema.table_specs(self._resources)
        own = {(r.schema, r.name) for r in self._resources}
        others = [r for r in ensure_also if (r.schema, r.name) not in own]
        self._ensured = (*self._resources, *others)

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

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
        self, resource_name: str, batches: Iterable[BatchLike], *, partition_key: str | None = None
    ) -> TableLoadResult:
        """Replace one partition: ``partition_key``'s rows of a partitioned table, or a global table."""
        return self.load_many([TableLoad(resource_name, list(batches), partition_key)])[0]

    def load_many(self, loads: Iterable[TableLoad]) -> list[TableLoadResult]:
        """Replace several partitions in one transaction: all of them change, or none."""
        with self.session() as session:
            return session.load_many(loads)

    @contextmanager
    def session(self, run_id: str | None = None) -> Iterator[LoadSession]:
        """One transaction over any number of ``load_many`` calls, committed when the block ends.

        A run that loads many studies as their pages arrive uses one session, so that a run that
        fails or is killed half-way leaves every table (``_rejected`` too) exactly as it was
        before the run. ``run_id`` (a Dagster run's, else a new one) marks the reject rows.
        """
        with self._writer() as con:
            con.begin()
            try:
                session = LoadSession(self, con, datetime.now(UTC), run_id or str(uuid.uuid4()))
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
                f" ({self.specs[r.table].scope} {r.partition_key})" if r.partition_key else "",
                "unchanged"
                if r.unchanged
                else f"{r.rows_written} rows written, {r.rows_deleted} deleted in {r.seconds:.2f} s",
            )

    def _write_table(
        self,
        con: duckdb.DuckDBPyConnection,
        item: _Group,
        view: str,
        loaded_at: datetime,
        existing: set[str],
    ) -> list[TableLoadResult]:
        """DELETE the group's partitions and INSERT them anew from ``item.table``.

        Only partitions in ``existing`` (those the table held before the session) are deleted:
        a DELETE scans the whole table, rows this session inserted included, so deleting
        partitions that cannot be there made a first sync's cost grow with the square of its
        size.

        The INSERT reads the Arrow table through DuckDB's replacement scan of the local variable
        named ``view``, not ``con.register``: a view registered inside a transaction keeps its
        Arrow table alive until COMMIT, so a run's memory would grow with every study written.
        """
        started = time.perf_counter()
        spec = item.spec
        if view != ARROW_SCAN_NAME:
            raise ValueError(f"the rows are scanned as {ARROW_SCAN_NAME}, not {view}")
        invivo_load_rows = item.table  # noqa: F841 (read by name by the INSERT below)
        partition_keys = [
            b.partition_key for b, _ in item.partitions if b.partition_key in existing
        ]
        if spec.partition_column is not None and not partition_keys:
            counts: dict[str | None, int] = {}
        elif spec.partition_column is not None:
            key = quote(spec.partition_column)
            counts = dict(
                con.execute(
                    f"SELECT {key}, count(*) FROM {spec.qualified_name} "
                    f"WHERE {key} IN (SELECT unnest(?::VARCHAR[])) GROUP BY {key}",
                    [partition_keys],
                ).fetchall()
            )
            con.execute(
                f"DELETE FROM {spec.qualified_name} WHERE {key} IN (SELECT unnest(?::VARCHAR[]))",
                [partition_keys],
            ).fetchall()
        else:
            counts = {None: _count(con.execute(f"DELETE FROM {spec.qualified_name}"))}
        written = _count(con.execute(_insert_sql(spec, view), [loaded_at]))
        if written != item.table.num_rows:
            raise WarehouseError(
                f"{spec.schema}.{spec.name}: {written} rows inserted of {item.table.num_rows}"
            )
        seconds = time.perf_counter() - started
        return [
            TableLoadResult(
                table=spec.name,
                partition_key=b.partition_key,
                rows_written=b.rows,
                rows_deleted=int(counts.get(b.partition_key, 0)),
                # The shared statements' time is shared out by rows.
                seconds=b.flatten_seconds + seconds * b.rows / max(1, written),
                loaded_at=loaded_at,
            )
            for b, _ in item.partitions
        ]


class LoadSession:
    """Loads inside one open transaction (see ``Warehouse.session``)."""

    def __init__(
        self,
        warehouse: Warehouse,
        con: duckdb.DuckDBPyConnection,
        loaded_at: datetime,
        run_id: str | None = None,
    ) -> None:
        self._warehouse = warehouse
        self._con = con
        self.loaded_at = loaded_at
        self.run_id = run_id or str(uuid.uuid4())
        self._had_rejects: bool | None = None
        self.results: list[TableLoadResult] = []
        self._seen: set[tuple[str, str | None]] = set()
        self._before: dict[str, set[str]] = {}

    def load_many(self, loads: Iterable[TableLoad]) -> list[TableLoadResult]:
        """Replace these partitions inside the session's transaction; each at most once a session."""
        loads = list(loads)
        builders = [self.partition(item.resource, item.partition_key) for item in loads]
        for builder, item in zip(builders, loads, strict=True):
            for batch in item.batches:
                builder.add(batch)
        return self.write_partitions(builders)

    def partition(self, resource: str, partition_key: str | None = None) -> PartitionBuilder:
        """A partition to fill page by page (``add``) and then hand to ``write_partitions``."""
        spec = self._warehouse._spec(resource)
        if spec.partition_column is not None and not partition_key:
            raise ValueError(f"{spec.name} is loaded per {spec.scope}: pass partition_key")
        if spec.partition_column is None and partition_key is not None:
            raise ValueError(f"{spec.name} is a global table: it is replaced whole, not per study")
        if (resource, partition_key) in self._seen:
            raise ValueError(f"{resource} ({spec.scope} {partition_key}) is loaded twice")
        self._seen.add((resource, partition_key))
        return PartitionBuilder(spec, partition_key)

    def write_partitions(self, builders: Iterable[FilledPartition]) -> list[TableLoadResult]:
        """Write finished partitions, many studies at once: per table, one DELETE and one INSERT
        for all the partitions whose fingerprint changed (a statement costs far more than a row).
        Results come in the order of ``builders``."""
        builders = list(builders)
        con = self._con
        fingerprints = [b.fingerprint() for b in builders]
        stored = self._stored_fingerprints(builders)
        results: dict[int, list[TableLoadResult]] = {}
        changed: dict[str, list[int]] = {}
        for i, (b, fp) in enumerate(zip(builders, fingerprints, strict=True)):
            if stored.get((b.spec.name, b.partition_key or "")) == fp:
                results[i] = [self._unchanged(b)]
            else:
                changed.setdefault(b.spec.name, []).append(i)
        current: tuple[TableSpec, pa.Table, str] | None = None
        try:
            for name, indexes in changed.items():
                group = _Group(
                    builders[indexes[0]].spec,
                    [(builders[i], fingerprints[i]) for i in indexes],
                    pa.concat_tables([builders[i].table() for i in indexes]),
                )
                current = (group.spec, group.table, f"__invivo_load_{name}")
                written = self._warehouse._write_table(
                    con, group, ARROW_SCAN_NAME, self.loaded_at, self._partitions_before(group.spec)
                )
                results.update(zip(indexes, ([r] for r in written), strict=True))
                current = None
            _record_load_state(
                con,
                [(builders[i], fingerprints[i]) for indexes in changed.values() for i in indexes],
                self.loaded_at,
            )
            self._replace_rejects(builders)
        except duckdb.Error as exc:
            # DuckDB answers nothing in an aborted transaction; a failed write ends the session.
            _rollback(con)
            raise _explain(con, current, exc) from exc
        ordered = [
            replace(r, rejected=len(b.rejects)) if b.rejects else r
            for i, b in enumerate(builders)
            for r in results[i]
        ]
        self.results.extend(ordered)
        return ordered

    def _replace_rejects(self, builders: Sequence[FilledPartition]) -> None:
        """The reject rows of these partitions, replaced by what this load set aside; a record
        rejected again keeps its ``first_seen`` (matched by id, else by its bytes)."""
        if not builders:
            return
        con = self._con
        table = f"{quote(builders[0].spec.schema)}.{quote(REJECTED_TABLE)}"
        if self._had_rejects is None:
            self._had_rejects = bool(con.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall())
        rejects = [(b, r) for b in builders for r in b.rejects]
        if not rejects and not self._had_rejects:
            return  # the usual load: nothing set aside now or before, no statement at all
        if rejects:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE __invivo_rejects AS "
                "SELECT n.*, ? AS run_id, coalesce(min(o.first_seen), ?) AS first_seen, "
                "CAST(? AS TIMESTAMPTZ) AS last_seen FROM (SELECT "
                "unnest(?::VARCHAR[]) AS table_name, unnest(?::VARCHAR[]) AS partition_key, "
                "unnest(?::VARCHAR[]) AS record_id, unnest(?::VARCHAR[]) AS record, "
                f"unnest(?::VARCHAR[]) AS reason) n LEFT JOIN {table} o "
                "ON o.table_name = n.table_name "
                "AND o.partition_key IS NOT DISTINCT FROM n.partition_key "
                "AND (o.record_id = n.record_id "
                "OR (n.record_id IS NULL AND o.record_id IS NULL AND o.record = n.record)) "
                "GROUP BY ALL",
                [
                    self.run_id,
                    self.loaded_at,
                    self.loaded_at,
                    [b.spec.name for b, _ in rejects],
                    [b.partition_key for b, _ in rejects],
                    [r.record_id for _, r in rejects],
                    [bytes(r.record).decode("utf-8", errors="replace") for _, r in rejects],
                    [r.reason for _, r in rejects],
                ],
            ).fetchall()
        if self._had_rejects:
            con.execute(
                f"DELETE FROM {table} t USING (SELECT unnest(?::VARCHAR[]) AS table_name, "
                "unnest(?::VARCHAR[]) AS partition_key) p WHERE t.table_name = p.table_name "
                "AND coalesce(t.partition_key, '') = p.partition_key",
                [[b.spec.name for b in builders], [b.partition_key or "" for b in builders]],
            ).fetchall()
        if rejects:
            con.execute(
                f"INSERT INTO {table} (table_name, partition_key, record_id, record, reason, "
                "run_id, first_seen, last_seen) SELECT table_name, partition_key, record_id, "
                "record, reason, run_id, first_seen, last_seen FROM __invivo_rejects"
            ).fetchall()
            con.execute("DROP TABLE __invivo_rejects").fetchall()

    def _partitions_before(self, spec: TableSpec) -> set[str]:
        """The partitions ``spec``'s table held before this session wrote to it (read once, on
        its first write: a session writes each partition at most once)."""
        if spec.partition_column is None:
            return set()
        if spec.name not in self._before:
            rows = self._con.execute(
                f"SELECT DISTINCT {quote(spec.partition_column)} FROM {spec.qualified_name}"
            ).fetchall()
            self._before[spec.name] = {r[0] for r in rows}
        return self._before[spec.name]

    def _stored_fingerprints(
        self, builders: Sequence[FilledPartition]
    ) -> dict[tuple[str, str], str]:
        if not builders:
            return {}
        schema_name = builders[0].spec.schema  # a session writes one source's schema
        rows = self._con.execute(
            f"SELECT table_name, partition_key, fingerprint FROM {schema_name}.{LOAD_STATE_TABLE} "
            "WHERE table_name IN (SELECT unnest(?::VARCHAR[])) "
            "AND partition_key IN (SELECT unnest(?::VARCHAR[]))",
            [
                sorted({b.spec.name for b in builders}),
                sorted({b.partition_key or "" for b in builders}),
            ],
        ).fetchall()
        return {(t, k): f for t, k, f in rows}

    def _unchanged(self, builder: FilledPartition) -> TableLoadResult:
        return TableLoadResult(
            table=builder.spec.name,
            partition_key=builder.partition_key,
            rows_written=0,
            rows_deleted=0,
            seconds=builder.flatten_seconds,
            loaded_at=self.loaded_at,
            unchanged=True,
        )

    def purge_partitions_except(self, keys: Sequence[str]) -> dict[str, int]:
        """Delete every partitioned row whose partition (study, experiment) is not in ``keys``, the
        source's current list.

        Neither API has a "deleted since" feed, so a full list is the only way to learn that a
        study or experiment was deleted; its rows then go in the same transaction as the new list.
        """
        con = self._con
        con.execute("CREATE OR REPLACE TEMP TABLE __invivo_live_partitions (id VARCHAR)")
        if keys:
            con.executemany("INSERT INTO __invivo_live_partitions VALUES (?)", [[k] for k in keys])
        purged: dict[str, int] = {}
        for schema_name in sorted({s.schema for s in self._warehouse.specs.values()}):
            con.execute(
                f"DELETE FROM {quote(schema_name)}.{quote(REJECTED_TABLE)} WHERE partition_key "
                "IS NOT NULL AND partition_key NOT IN (SELECT id FROM __invivo_live_partitions)"
            ).fetchall()
        for spec in self._warehouse.specs.values():
            if spec.partition_column is None:
                continue
            deleted = _count(
                con.execute(
                    f"DELETE FROM {spec.qualified_name} WHERE {quote(spec.partition_column)} "
                    "NOT IN (SELECT id FROM __invivo_live_partitions)"
                )
            )
            if deleted:
                purged[spec.name] = deleted
            con.execute(
                f"DELETE FROM {spec.schema}.{LOAD_STATE_TABLE} WHERE table_name = ? "
                "AND partition_key NOT IN (SELECT id FROM __invivo_live_partitions)",
                [spec.name],
            )
        con.execute("DROP TABLE __invivo_live_partitions")
        return purged

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read inside the transaction: checks see what is about to be committed."""
        return self._con.execute(sql, list(params)).fetchall()


def _record_load_state(
    con: duckdb.DuckDBPyConnection,
    written: Sequence[tuple[FilledPartition, str]],
    loaded_at: datetime,
) -> None:
    """The fingerprints of the partitions just written, in one statement for all of them: an
    ``INSERT OR REPLACE`` costs milliseconds however few its rows, and a flush writes dozens of
    tables."""
    if not written:
        return
    con.execute(
        f"INSERT OR REPLACE INTO {written[0][0].spec.schema}.{LOAD_STATE_TABLE} "
        "SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
        "unnest(?::BIGINT[]), CAST(? AS TIMESTAMPTZ)",
        [
            [b.spec.name for b, _ in written],
            [b.partition_key or "" for b, _ in written],
            [fp for _, fp in written],
            [b.rows for b, _ in written],
            loaded_at,
        ],
    ).fetchall()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    # If DuckDB cannot even roll back (an invalidated database), closing the connection discards
    # the uncommitted work all the same; the original error is the one worth reporting.
    with suppress(duckdb.Error):
        con.rollback()


def _count(cursor: duckdb.DuckDBPyConnection) -> int:
    # fetchall, not fetchone: DuckDB 2 refuses other work on a connection with an unfinished result.
    rows = cursor.fetchall()
    return int(rows[0][0]) if rows else 0


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
    con: duckdb.DuckDBPyConnection,
    current: tuple[TableSpec, pa.Table, str] | None,
    exc: duckdb.Error,
) -> WarehouseLoadError:
    """Turn DuckDB's cast error (which names neither column nor record) into one that does."""
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if current is None:
        return WarehouseLoadError(f"load failed: {first_line}; nothing was loaded")
    spec, table, view = current
    keys = [k for k in spec.primary_key if k in table.column_names]
    # The view was registered inside the rolled-back transaction; bring it back to search it.
    with suppress(duckdb.Error):
        con.register(view, table)
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
