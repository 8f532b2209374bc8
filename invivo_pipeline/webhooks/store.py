"""Received webhook events, kept durably and once each: SQLite in WAL mode.

Why not the warehouse: DuckDB has a single writer, and ingestion runs hold it for seconds to
minutes; a receiver queued behind them would time the sender out. SQLite in WAL mode lets the
receiver append while the sensor reads, from different processes, and ``synchronous=FULL`` means
an event acknowledged with 200 survives a power cut. Idempotency is the ``UNIQUE`` event id:
``INSERT OR IGNORE`` stores a redelivered event zero more times. ``seq`` (the arrival order) is
what the sensor's cursor counts, so it never skips an event that arrived late with an old
``created_at``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

BUSY_TIMEOUT_S = 30.0
DB_ENV = "INVIVO_WEBHOOK_DB"
DEFAULT_DB = "data/webhook_events.sqlite"


def webhook_db_path(env: Mapping[str, str] = os.environ) -> Path:
    """``INVIVO_WEBHOOK_DB``, else ``data/webhook_events.sqlite``: the receiver writes it, the
    sensor reads it, so both processes must see the same value."""
    return Path(env.get(DB_ENV) or DEFAULT_DB).expanduser()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL UNIQUE,
    event       TEXT NOT NULL,
    created_at  TEXT,
    received_at TEXT NOT NULL,
    body        BLOB NOT NULL
)
"""


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    event_id: str
    event: str
    created_at: str | None
    received_at: str
    body: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        return orjson.loads(self.body)

    @property
    def payload(self) -> dict[str, Any]:
        payload = self.envelope.get("payload")
        return payload if isinstance(payload, dict) else {}


class EventStore:
    """``add`` from the receiver, ``since`` from the sensor; safe across threads and processes."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        """``create=False`` (the sensor) never makes a file: no receiver yet means no events."""
        self.path = Path(path).expanduser()
        self._local = threading.local()
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connection() as con:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute(_SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        # One connection per thread: sqlite3 connections must not be shared between threads, and
        # the receiver writes from a thread pool.
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            con.execute("PRAGMA synchronous=FULL")
            con.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            self._local.con = con
        yield con

    def exists(self) -> bool:
        return self.path.exists()

    def add(self, event_id: str, event: str, created_at: str | None, body: bytes) -> bool:
        """Store one event; ``False`` if an event with this id was stored before (a redelivery)."""
        received = datetime.now(UTC).isoformat(timespec="microseconds")
        with self._connection() as con:
            cursor = con.execute(
                "INSERT OR IGNORE INTO webhook_events "
                "(event_id, event, created_at, received_at, body) VALUES (?, ?, ?, ?, ?)",
                (event_id, event, created_at, received, body),
            )
            return cursor.rowcount == 1

    def since(self, seq: int, limit: int = 1000) -> list[StoredEvent]:
        """Events stored after ``seq``, oldest first, at most ``limit``."""
        if not self.exists():
            return []
        with self._connection() as con:
            rows = con.execute(
                "SELECT seq, event_id, event, created_at, received_at, body FROM webhook_events "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        return [StoredEvent(*row) for row in rows]

    def last_seq(self) -> int:
        if not self.exists():
            return 0
        with self._connection() as con:
            (seq,) = con.execute("SELECT coalesce(max(seq), 0) FROM webhook_events").fetchone()
        return int(seq)

    def count(self) -> int:
        if not self.exists():
            return 0
        with self._connection() as con:
            (n,) = con.execute("SELECT count(*) FROM webhook_events").fetchone()
        return int(n)

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
