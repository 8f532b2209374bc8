"""Received webhook events, kept durably and once each: SQLite in WAL mode.

Why not the warehouse: DuckDB has a single writer, and ingestion runs hold it for seconds to
minutes; a receiver queued behind them would time the sender out. SQLite in WAL mode lets the
receiver append while the sensor reads, from different processes, and ``synchronous=FULL`` means
an event acknowledged with 200 survives a power cut. Idempotency is the ``UNIQUE`` event id:
``INSERT OR IGNORE`` stores a redelivered event zero more times. ``seq`` (the arrival order) is
what the sensor's cursor counts, so it never skips an event that arrived late with an old
``created_at``.

Events the sensor read but did not act on are *set aside* in a second table, each with its
reason: **held** (it names a study that is not a registered partition yet: acted on once
discovery registers the study, dropped after a bound), **quarantined** (the sensor cannot read
it: not JSON, nested too deep, a reader failed) and **dropped** (held too long). The sensor's
cursor moves past all of them; ``invivo webhooks quarantined`` and ``invivo webhooks held`` list
them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from invivo_pipeline.sources.invivo.webhooks.log_text import loggable

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


_SET_ASIDE_SCHEMA = """
CREATE TABLE IF NOT EXISTS set_aside_events (
    seq      INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    event    TEXT NOT NULL,
    state    TEXT NOT NULL CHECK (state IN ('held', 'quarantined', 'dropped')),
    study_id TEXT,
    reason   TEXT NOT NULL,
    since    TEXT NOT NULL
)
"""
HELD, QUARANTINED, DROPPED = "held", "quarantined", "dropped"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class SetAsideEvent:
    """A stored event the sensor did not act on, and why. ``since``: when it entered ``state``."""

    seq: int
    event_id: str
    event: str
    state: str
    reason: str
    study_id: str | None = None
    since: str = ""

    def line(self) -> str:
        """One line for a terminal or a log: sender text escaped by ``loggable``."""
        return (
            f"seq {self.seq} {loggable(self.event_id)} {loggable(self.event)} "
            f"{self.state} since {self.since}: {self.reason}"
        )


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
        self._schema_ready = False
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connection() as con:
                con.execute("PRAGMA journal_mode=WAL")
            self._ready()

    def _ready(self) -> bool:
        """Whether the store exists; if so its tables do too (a store made before the
        ``set_aside_events`` table gets it on first use)."""
        if not self.exists():
            return False
        if not self._schema_ready:
            with self._connection() as con:
                con.execute(_SCHEMA)
                con.execute(_SET_ASIDE_SCHEMA)
            self._schema_ready = True
        return True

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
        received = now_iso()
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

    def set_aside(self, state: str | None = None, limit: int | None = None) -> list[SetAsideEvent]:
        """Set-aside events, oldest first; only those in ``state`` if given."""
        if not self._ready():
            return []
        query = "SELECT seq, event_id, event, state, reason, study_id, since FROM set_aside_events"
        query += " WHERE state = ?" if state else " WHERE ? IS NULL"
        query += " ORDER BY seq LIMIT ?"
        with self._connection() as con:
            rows = con.execute(query, (state, -1 if limit is None else limit)).fetchall()
        return [SetAsideEvent(*row) for row in rows]

    def set_aside_counts(self) -> dict[str, int]:
        if not self._ready():
            return {}
        with self._connection() as con:
            rows = con.execute(
                "SELECT state, count(*) FROM set_aside_events GROUP BY state ORDER BY state"
            ).fetchall()
        return {state: int(n) for state, n in rows}

    def record_set_aside(
        self,
        new: Iterable[SetAsideEvent] = (),
        released: Iterable[int] = (),
        dropped: Iterable[SetAsideEvent] = (),
    ) -> None:
        """One sensor tick's outcome, in one transaction: ``new`` events set aside (an event
        already set aside keeps its first entry, so a retried tick changes nothing), held events
        ``released`` (acted on: no longer set aside) and held events ``dropped``."""
        if not self._ready():
            return
        with self._connection() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                con.executemany(
                    "INSERT OR IGNORE INTO set_aside_events "
                    "(seq, event_id, event, state, reason, study_id, since) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (e.seq, e.event_id, e.event, e.state, e.reason, e.study_id, e.since)
                        for e in new
                    ],
                )
                con.executemany(
                    "DELETE FROM set_aside_events WHERE seq = ? AND state = 'held'",
                    [(seq,) for seq in released],
                )
                con.executemany(
                    "UPDATE set_aside_events SET state = 'dropped', reason = ?, since = ? "
                    "WHERE seq = ? AND state = 'held'",
                    [(e.reason, e.since, e.seq) for e in dropped],
                )
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
