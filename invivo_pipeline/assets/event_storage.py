"""Dagster's sharded SQLite event log, with each shard's connection kept between events.

Dagster's ``SqliteEventLogStorage`` builds a new SQLAlchemy engine and opens a new connection for
every event it stores, in the run's shard and again in the cross-run index, so each event pays
for two engines, two connections, SQL compiled afresh (the compiled-statement cache lives in the
engine) and a checkpoint on every close. A run records an event per asset, partition and check it
plans before it can be queued (the daemon writes them: 239 for a one-study webhook run, 1,108
for a burst over 80 studies) and as many again as it materializes, at about 10 ms each
(docs/performance.md). This storage keeps one engine and one open connection per shard, for the
few shards last used, and stores the same rows in the same files: an instance can switch to it
and back with its history intact, and Dagster's own storage reads what it wrote.

Dagster also writes a run's planned events, and the materializations of one asset over a run's
partitions, as a batch, but only where ``DAGSTER_EVENT_BATCH_SIZE`` is set, and Dagster's SQLite
storage still stores a batch one event (two commits) at a time. This storage stores a batch in
one transaction per file and sets that variable for its process (``event_batch_size``, unless the
environment already has it), so a burst run's 1,108 planned events and 880 materializations are a
few commits instead of thousands.

What Dagster's per-event close also did, this keeps doing: the UI follows a running run by
watching its shard's ``.db`` file for changes, and with the connection held open a commit only
reaches the WAL, so each transaction on a run's shard ends with a passive checkpoint, which
writes the new pages into the ``.db`` file without waiting for any reader.

``deploy/dagster.yaml`` configures it; ``event_log.event_log_kept_open`` remains for instances
on Dagster's own SQLite storage. Private Dagster names (the ``_connect`` hook, the shard paths)
are used because the public API has no hook into the storage's connections;
``invivo_pipeline_tests/test_assets/test_event_storage.py`` fails if Dagster changes them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

from dagster import Field, IntSource, StringSource
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

MAX_OPEN_SHARDS = 8
"""Shards whose connection stays open: the index, and the runs a process last wrote or read."""
EVENT_BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
"""Where Dagster reads how many events it may hand the storage at once (0: one at a time)."""
DEFAULT_EVENT_BATCH_SIZE = 1000


def shards_folder(instance_dir: str | Path) -> Path:
    """Where Dagster's default SQLite storage keeps the event log of the instance in
    ``instance_dir`` (``storage: sqlite`` with that ``base_dir``, or no storage configured)."""
    return Path(instance_dir).resolve() / "history" / "runs"


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with a connection per shard kept open (at most
    ``MAX_OPEN_SHARDS``, the least recently used closed first).

    Every use of a connection is under the storage's lock, as in Dagster's, so one connection per
    shard serves every thread of the process; a forked child opens its own.
    """

    def __init__(
        self,
        base_dir: str,
        inst_data: ConfigurableClassData | None = None,
        event_batch_size: int = DEFAULT_EVENT_BATCH_SIZE,
    ) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._batch: dict[str, Connection] | None = None
        """The open transactions of the batch being stored, by shard (None: no batch)."""
        self._batch_stack: ExitStack | None = None
        super().__init__(base_dir, inst_data)
        # Re-entrant, so that a batch holds it while each of its events takes it again.
        self._db_lock = threading.RLock()  # type: ignore[assignment]
        if event_batch_size > 0:
            # Dagster reads the batch size only from the environment, event by event; an
            # operator's own value wins.
            os.environ.setdefault(EVENT_BATCH_SIZE_ENV, str(event_batch_size))

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        # The instance folder, as ``storage: sqlite``'s ``base_dir``: the shards go where
        # Dagster's default storage keeps them, so that switching loses no history.
        return {
            "instance_dir": StringSource,
            "event_batch_size": Field(
                IntSource, is_required=False, default_value=DEFAULT_EVENT_BATCH_SIZE
            ),
        }

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(
            str(shards_folder(config_value["instance_dir"])),
            inst_data=inst_data,
            event_batch_size=config_value.get("event_batch_size", DEFAULT_EVENT_BATCH_SIZE),
        )

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Every event as ``store_event`` stores it, in one transaction per file: all or none.

        Dagster falls back to storing the events one by one if this raises, so a failed batch
        must leave nothing behind; it rolls back whole.
        """
        with self._db_lock, ExitStack() as stack:
            self._batch, self._batch_stack = {}, stack
            try:
                for event in events:
                    self.store_event(event)
            finally:
                self._batch, self._batch_stack = None, None
            # Leaving the stack commits each file's transaction (or rolls it back on an error)
            # and checkpoints the run's file, as one event's transaction does.

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            if self._batch is not None:
                yield self._batch_connection(shard)
                return
            with self._initialized_engine(shard).connect() as conn:
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME:
                    _checkpoint(conn)

    def _batch_connection(self, shard: str) -> Connection:
        """The shard's connection in the batch's transaction, begun on its first use."""
        assert self._batch is not None and self._batch_stack is not None
        conn = self._batch.get(shard)
        if conn is None:
            conn = self._batch_stack.enter_context(self._initialized_engine(shard).connect())
            if shard != INDEX_SHARD_NAME:
                self._batch_stack.callback(_checkpoint, conn)  # after the commit below
            self._batch_stack.enter_context(conn.begin())
            self._batch[shard] = conn
        return conn

    def _initialized_engine(self, shard: str) -> Engine:
        """The shard's engine, its file created with Dagster's schema on first use."""
        engine = self._engine(shard)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        return engine

    def _own_engines(self) -> OrderedDict[str, Engine]:
        """This process's engines: a forked child must not use, nor close, its parent's SQLite
        connections, so it starts with none."""
        if os.getpid() != self._engines_pid:
            self._engines = OrderedDict()
            self._engines_pid = os.getpid()
        return self._engines

    def _engine(self, shard: str) -> Engine:
        engines = self._own_engines()
        engine = engines.get(shard)
        if engine is not None:
            engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            poolclass=StaticPool,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        engines[shard] = engine
        while len(engines) > MAX_OPEN_SHARDS:
            engines.popitem(last=False)[1].dispose()
        return engine

    def open_shards(self) -> list[str]:
        """The shards whose connection this process holds, least recently used first."""
        return list(self._engines)

    def _close_engines(self) -> None:
        with self._db_lock:
            for engine in self._own_engines().values():
                engine.dispose()
            self._engines = OrderedDict()

    def wipe(self) -> None:
        # Dagster deletes the run shards' files: no connection may still write to them.
        self._close_engines()
        super().wipe()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()


def _checkpoint(conn: Connection) -> None:
    """Writes a run file's committed pages from the WAL into the file, where the UI's watcher
    sees them. Nothing to checkpoint after a read: then it returns at once. A checkpoint a reader
    holds back is finished by a later one; the commit stands either way."""
    with suppress(sqlite3.Error):
        conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "PRAGMA wal_checkpoint(PASSIVE)"
        ).fetchall()
