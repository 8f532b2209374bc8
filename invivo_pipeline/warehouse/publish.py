"""The read copy: what analysts open, published beside the warehouse after every successful run.

DuckDB lets no process open a file, even read-only, while another writes it, and the pipeline
writes often (every sensor-launched run). So readers never open the warehouse: after a run that
changed it succeeds, ``publish`` copies the warehouse file, under the writer lock and with a
read-only connection open so that no other program writes it meanwhile, and renames the copy over
``<warehouse stem>.read.duckdb`` (``published_path``). No writer ever opens that file.

Why a copy of the file's bytes, and not the tables copied with SQL (as the reports' snapshot copies
its few tables) or Parquet files with a DuckDB file of views over them: docs/performance.md has
the figures at 200 and 800 studies. The byte copy is by far the fastest of the three (and
the writer lock is held while it runs), needs no memory, and one file renamed atomically is the
whole publication: a reader holding the old one keeps reading its inode (Linux frees it when the
last reader closes it), so at most the current publication and the one a reader still holds take
disk space, with no directory of Parquet files to keep alive for old readers.

The copy carries ``publication.info``: when it was published and the warehouse's fingerprint
(size and modification time of the file and its write-ahead log) at the time, so a publication of
an unchanged warehouse is skipped. Nothing here knows about Dagster.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from invivo_pipeline.warehouse.duckdb_file import (
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_LOCK_TIMEOUT,
    open_reader,
    writer_lock,
)

WAREHOUSE_SCHEMAS = ("invivo_raw", "cytobank_raw", "staging", "intermediate", "marts")
"""The schemas runs write: a run that materialized a table in one changed the warehouse."""
INFO_SCHEMA = "publication"
INFO_TABLE = "info"


@dataclass(frozen=True)
class Publication:
    path: Path
    changed: bool
    """False when the warehouse had not changed since the last publication (nothing was copied)."""
    tables: int
    size_bytes: int
    seconds: float


def published_path(db_path: Path) -> Path:
    """``data/invivo.duckdb`` → ``data/invivo.read.duckdb``: the file analysts open."""
    return db_path.with_name(f"{db_path.stem}.read.duckdb")


def publishing_prefix(db_path: Path) -> str:
    """A publication is built in a hidden directory beside the warehouse named so."""
    return f".{db_path.name}.publishing-"


def warehouse_fingerprint(db_path: Path) -> str:
    """Size and modification time of the file and its write-ahead log: any commit changes it."""
    parts = []
    for path in (db_path, db_path.with_name(db_path.name + ".wal")):
        try:
            stat = path.stat()
        except FileNotFoundError:
            parts.append("-")
            continue
        parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    return "/".join(parts)


def published_fingerprint(db_path: Path) -> str | None:
    """The fingerprint of the warehouse the current publication was copied from, if any."""
    path = published_path(db_path)
    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute(
                f"select warehouse_fingerprint from {INFO_SCHEMA}.{INFO_TABLE}"
            ).fetchall()
    except duckdb.Error:
        return None  # unreadable or from elsewhere: publish again
    return rows[0][0] if rows else None


def is_published(db_path: Path) -> bool:
    """Whether the read copy holds the warehouse as it is now."""
    return published_fingerprint(db_path) == warehouse_fingerprint(db_path)


def publish(
    db_path: Path,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
) -> Publication:
    """Copy the warehouse file to a new file and rename it over ``published_path``, all under the
    writer lock, so publications queue behind writers and each other and always copy a committed
    state. Skipped (``changed=False``) when the warehouse has not changed since the current
    publication."""
    started = time.perf_counter()
    target = published_path(db_path)
    with writer_lock(db_path, timeout=lock_timeout):
        fingerprint = warehouse_fingerprint(db_path)
        if published_fingerprint(db_path) == fingerprint:
            return Publication(target, False, 0, target.stat().st_size, 0.0)
        _remove_abandoned(db_path)
        with tempfile.TemporaryDirectory(
            prefix=publishing_prefix(db_path), dir=db_path.parent
        ) as tmp:
            new = Path(tmp) / target.name
            # The read-only connection holds DuckDB's shared lock: no other program (a notebook
            # with a writable connection) can change the file while its bytes are copied.
            with open_reader(db_path, busy_timeout=busy_timeout):
                shutil.copyfile(db_path, new)
                wal = db_path.with_name(db_path.name + ".wal")
                if wal.exists():  # a writer that did not checkpoint on close: its log goes too
                    shutil.copyfile(wal, new.with_name(new.name + ".wal"))
            tables = _write_info(new, fingerprint)
            # Atomic on one file system: a reader opens the old file or the new one, never half.
            os.replace(new, target)
            _sync_directory(target.parent)
    return Publication(target, True, tables, target.stat().st_size, time.perf_counter() - started)


def _write_info(path: Path, fingerprint: str) -> int:
    """Add ``publication.info`` to the copy and checkpoint it (its log, if any, folded in and
    removed, the file synced to disk); return how many tables it holds."""
    with duckdb.connect(str(path)) as con:
        con.execute(f"CREATE SCHEMA {INFO_SCHEMA}")
        con.execute(
            f"CREATE TABLE {INFO_SCHEMA}.{INFO_TABLE} AS SELECT "
            "?::TIMESTAMPTZ AS published_at, ?::VARCHAR AS warehouse_fingerprint",
            [datetime.now(UTC), fingerprint],
        )
        con.execute("CHECKPOINT")
        (count,) = con.execute(
            "select count(*) from information_schema.tables where table_schema <> ?",
            [INFO_SCHEMA],
        ).fetchall()[0]
    return count


def _remove_abandoned(db_path: Path) -> None:
    """A publication killed outright leaves its directory; under the writer lock none is running."""
    for leftover in db_path.parent.glob(publishing_prefix(db_path) + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable: a crash right after it finds the new file, not the old one."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
