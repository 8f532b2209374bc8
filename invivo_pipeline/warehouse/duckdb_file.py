"""Opening the DuckDB file: where it is, one writer at a time, and a clear error instead of a hang.

DuckDB lets one process write a file (and no other process read it meanwhile). Writers of this
pipeline queue on an OS lock next to the file (``<db>.lock``), so concurrent Dagster steps wait their
turn instead of failing; a file held by some other program (a notebook, a SQL client, dbt) is
retried briefly and then reported with the holder's PID. Connections are opened for one unit of
work and closed straight after, so the file is never held between loads.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from invivo_pipeline.core.env_settings import positive_int
from invivo_pipeline.warehouse.errors import WarehouseError, WarehouseLockedError

DUCKDB_PATH_ENV = "INVIVO_DUCKDB_PATH"
DEFAULT_DUCKDB_PATH = "data/invivo.duckdb"
DEFAULT_LOCK_TIMEOUT = 120.0
"""Seconds a writer queues behind other writers of this pipeline."""
DEFAULT_BUSY_TIMEOUT = 15.0
"""Seconds a connection is retried while another program holds the DuckDB file."""

MEMORY_LIMIT_ENV = "INVIVO_DUCKDB_MEMORY_LIMIT"
DEFAULT_WRITER_MEMORY_LIMIT = "64MB"
"""What a writer's DuckDB may hold in memory. A run is one transaction, and DuckDB keeps a
transaction's new rows in memory until COMMIT unless a limit makes it spill them to
``<db>.tmp/``: without one, memory grows with the size of the tenant (docs/performance.md)."""

THREADS_ENV = "INVIVO_DUCKDB_WRITER_THREADS"
DEFAULT_WRITER_THREADS = 1
"""Threads of a writer's DuckDB. A sync's writer shares the machine with the thread that reads
pages, which keeps a core busy: on two cores a second DuckDB thread only contended with it and
made a sync slower (docs/performance.md)."""

_SIZE = re.compile(r"\d+(\.\d+)?\s*[KMGT]i?B", flags=re.IGNORECASE)
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
_SAME_PROCESS_CONFLICT = "different configuration"


def default_duckdb_path(env: Mapping[str, str] = os.environ) -> Path:
    """``INVIVO_DUCKDB_PATH``, else ``data/invivo.duckdb`` (relative to the working directory)."""
    return Path(env.get(DUCKDB_PATH_ENV) or DEFAULT_DUCKDB_PATH).expanduser()


def writer_memory_limit(env: Mapping[str, str] = os.environ) -> str:
    """``INVIVO_DUCKDB_MEMORY_LIMIT`` (a DuckDB size such as ``1GB``), else 64 MB."""
    limit = (env.get(MEMORY_LIMIT_ENV) or DEFAULT_WRITER_MEMORY_LIMIT).strip()
    if not _SIZE.fullmatch(limit):
        raise WarehouseError(f"{MEMORY_LIMIT_ENV}={limit!r} is not a size such as 512MB or 2GB")
    return limit


def writer_threads(env: Mapping[str, str] = os.environ) -> int:
    """``INVIVO_DUCKDB_WRITER_THREADS`` (a whole number of at least 1), else 1."""
    return positive_int(env, THREADS_ENV, DEFAULT_WRITER_THREADS, WarehouseError)


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def writer_lock(db_path: Path, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the pipeline's write lock on ``db_path``; also usable around dbt runs."""
    if timeout < 0:
        raise ValueError("timeout must be >= 0 seconds (waiting forever is not allowed)")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(db_path)), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise WarehouseLockedError(
            f"{db_path}: another writer of this pipeline held {lock_path(db_path).name} "
            f"for more than {timeout:g} s; try again when it has finished"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _is_busy(exc: duckdb.Error) -> bool:
    message = str(exc)
    if isinstance(exc, duckdb.IOException):
        return "Could not set lock" in message or "Conflicting lock" in message
    # A connection with another read_only setting is open in this very process.
    return isinstance(exc, duckdb.ConnectionException) and _SAME_PROCESS_CONFLICT in message


def _locked_message(db_path: Path, exc: duckdb.Error, waited: float) -> str:
    holder = _HOLDER.search(str(exc))
    who = (
        f"another program (PID {holder['pid']}, {holder['program']})"
        if holder
        else "another connection"
    )
    return (
        f"DuckDB file {db_path} is held by {who}; gave up after {waited:g} s. "
        "DuckDB allows one writer process: close that connection and retry."
    )


def connect(
    db_path: Path, *, read_only: bool, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
) -> duckdb.DuckDBPyConnection:
    """Open the file, retrying with backoff while it is held elsewhere, for at most ``busy_timeout``."""
    if read_only and not db_path.exists():
        raise WarehouseError(f"no warehouse at {db_path}: nothing has been loaded yet")
    if not read_only:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + busy_timeout
    delay = 0.05
    while True:
        try:
            return _session(duckdb.connect(str(db_path), read_only=read_only))
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if read_only and _SAME_PROCESS_CONFLICT in str(exc):
                # This process already has the file open for writing: share that instance.
                return _session(duckdb.connect(str(db_path)))
            if not _is_busy(exc):
                raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseLockedError(_locked_message(db_path, exc, busy_timeout)) from None
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)


def existing_tables(con: duckdb.DuckDBPyConnection, schemas: Iterable[str]) -> set[tuple[str, str]]:
    """(schema, table) of the tables and views in ``schemas`` of the connection's database."""
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND list_contains(?, table_schema)",
        [sorted(schemas)],
    ).fetchall()
    return {(r[0], r[1]) for r in rows}


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> list[tuple[str, str]]:
    """``(column, data type)`` of a table or view in the connection's database, in column order
    (empty when there is no such table)."""
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()


def _session(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # A timestamp string without an offset means UTC, whatever the machine's zone.
    con.execute("SET TimeZone = 'UTC'")
    return con


@contextmanager
def open_writer(
    db_path: Path,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The one way to write: queue on the pipeline lock, open the file, close it when done."""
    with writer_lock(db_path, lock_timeout):
        con = connect(db_path, read_only=False, busy_timeout=busy_timeout)
        try:
            con.execute(f"SET memory_limit = '{writer_memory_limit()}'")
            con.execute(f"SET threads = {writer_threads()}")
            yield con
        finally:
            con.close()


@contextmanager
def open_reader(
    db_path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection: many readers may share the file while no one writes it."""
    con = connect(db_path, read_only=True, busy_timeout=busy_timeout)
    try:
        yield con
    finally:
        con.close()
