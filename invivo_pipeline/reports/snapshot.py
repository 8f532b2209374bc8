"""A private copy of what the reports read, so that drawing them never holds the warehouse.

DuckDB lets no other process write a file while a reader has it open, so the reports must queue on
the pipeline's writer lock like every writer. Drawing every study takes minutes on a large tenant
(docs/performance.md), longer than a writer waits for the lock. So the reports hold the lock only
to copy the tables they read (``data.TABLES_READ``) into a DuckDB file of their own, then let the
warehouse go and read and draw from that copy.

The copy keeps the schema names (``marts``, ``staging``), so every report query runs on it
unchanged. A table the warehouse does not have (the flow marts before dbt built them) is not in the
copy either: the reports see exactly what they would have seen in the warehouse. Nothing here
knows about Dagster.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from invivo_pipeline.reports.data import TABLES_READ
from invivo_pipeline.warehouse.duckdb_file import (
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_LOCK_TIMEOUT,
    existing_tables,
    open_reader,
    writer_lock,
    writer_memory_limit,
)
from invivo_pipeline.warehouse.schema import quote

SNAPSHOT_FILE = "snapshot.duckdb"


def snapshot_prefix(db_path: Path) -> str:
    """The name of a snapshot's directory starts so: ``.<db file>.report-snapshot-``."""
    return f".{db_path.name}.report-snapshot-"


@contextmanager
def report_snapshot(
    db_path: Path,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
) -> Iterator[Path]:
    """Copy the tables the reports read into a temporary DuckDB file under the writer lock, let go
    of the lock and the warehouse, and yield the copy's path; delete it afterwards (also on error).

    The copy is made in a hidden directory beside the warehouse (``snapshot_prefix``), on the disk
    that already holds the warehouse (the system temporary directory may be a small RAM disk); it
    is a small fraction of the warehouse's size (docs/performance.md). A process killed
    outright leaves its directory behind, to be deleted by hand when no reports are being drawn.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)  # as the lock does; "no warehouse" follows
    with tempfile.TemporaryDirectory(prefix=snapshot_prefix(db_path), dir=db_path.parent) as tmp:
        snapshot = Path(tmp) / SNAPSHOT_FILE
        with (
            writer_lock(db_path, timeout=lock_timeout),
            open_reader(db_path, busy_timeout=busy_timeout) as con,
        ):
            copy_tables_read(con, snapshot, spill_dir=Path(tmp) / "spill")
        yield snapshot


def copy_tables_read(con: duckdb.DuckDBPyConnection, target: Path, *, spill_dir: Path) -> None:
    """Copy each of ``TABLES_READ`` that ``con``'s database has into a new DuckDB file at
    ``target``, under the same schema and name (a view becomes a table)."""
    # The tables stream from the warehouse into the copy; held to a writer's memory limit (64 MB
    # unless INVIVO_DUCKDB_MEMORY_LIMIT says otherwise), beyond which DuckDB spills to the
    # snapshot's own directory, memory does not grow with the tenant; the cap barely slows the
    # copy (docs/performance.md).
    con.execute(f"SET memory_limit = '{writer_memory_limit()}'")
    con.execute(f"SET temp_directory = {_literal(str(spill_dir))}")
    (source,) = con.execute("select current_database()").fetchall()[0]
    present = existing_tables(con, {schema for schema, _ in TABLES_READ})
    copied = [(schema, table) for schema, table in TABLES_READ if (schema, table) in present]
    alias = "report_snapshot" if source != "report_snapshot" else "report_snapshot_copy"
    # A read-only connection attaches read-only unless told otherwise.
    con.execute(f"ATTACH {_literal(str(target))} AS {quote(alias)} (READ_WRITE)")
    try:
        for schema in dict.fromkeys(schema for schema, _ in copied):
            con.execute(f"CREATE SCHEMA {quote(alias)}.{quote(schema)}")
        for schema, table in copied:
            name = f"{quote(schema)}.{quote(table)}"
            con.execute(f"CREATE TABLE {quote(alias)}.{name} AS FROM {quote(source)}.{name}")
    finally:
        con.execute(f"DETACH {quote(alias)}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
