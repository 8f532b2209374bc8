"""Keeping the Dagster instance's SQLite event log open while a run records thousands of events.

Dagster's SQLite event storage opens a new engine and connection for every event it stores and
closes it afterwards. Closing the last connection to a WAL database checkpoints the log into the
database and deletes it, so each event of a full sync (a planned and a materialized event per table
and study partition: thousands on a large tenant) paid for a checkpoint, twice: in the run's shard
and in the cross-run index. One idle connection held on each of the two for the run's length makes
every such close an ordinary one; SQLite still checkpoints as the log grows, and when the held
connection closes, which takes a large share off Dagster's recording of a run (docs/performance.md).

Only Dagster's own sharded SQLite event log (the embedded default) gets it: ``event_storage``'s,
which ``deploy/dagster.yaml`` and ``invivo sync`` use, holds its connections for good. Any other
storage is left as it is: the ephemeral instance (in memory), and PostgreSQL
(``deploy/dagster-postgres.yaml``), where closing a connection checkpoints nothing: the server
keeps its own log. There each event opens a connection of its own (Dagster's engine holds none
between uses), and what saves those is ``DAGSTER_EVENT_BATCH_SIZE``: a run's planned events, and
the materializations of one partitioned output, are then stored with one INSERT per batch.

Why it holds private Dagster names, and cannot be rebuilt on public API: Dagster's public API has no
hook into its storage's connection lifecycle and does not say where the SQLite shards of a run are
on disk; only ``SqliteEventLogStorage.path_for_shard`` knows (``INDEX_SHARD_NAME`` names the
cross-run index). ``DAGSTER_EVENT_BATCH_SIZE``, the public lever, does not help Dagster's own
SQLite storage: its ``store_event_batch`` is the base class's loop of ``store_event``, one
connection per event (``event_storage``'s stores a batch in one transaction). So this stays, in
one place, and ``invivo_pipeline_tests/test_assets/test_event_log.py`` fails if Dagster
stops closing per event or moves the shards (the cost it removes is in docs/performance.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)

from invivo_pipeline.assets.event_storage import PooledSqliteEventLogStorage


@contextmanager
def event_log_kept_open(instance: dg.DagsterInstance, run_id: str) -> Iterator[None]:
    """Hold the index and the shard of run ``run_id`` (which need not exist yet) open."""
    storage = instance.event_log_storage
    if not isinstance(storage, SqliteEventLogStorage) or isinstance(
        storage, PooledSqliteEventLogStorage
    ):
        yield  # other storages, and ours, which holds its connections itself
        return
    # Dagster creates either shard, in WAL mode, if nothing has written to it yet.
    with storage.index_connection():
        pass
    with storage.run_connection(run_id):
        pass
    with ExitStack() as held:
        for shard in (INDEX_SHARD_NAME, run_id):
            conn = held.enter_context(closing(sqlite3.connect(storage.path_for_shard(shard))))
            # A first read maps the WAL index; holding it is what keeps the other closes ordinary.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        yield
