"""One request budget for every process of a deployment, kept in a small SQLite file they share.

``SlidingWindowLimiter`` keeps its window in memory, so each process had the whole tenant limit to
itself: the discovery sensor, a reconcile run and a webhook run, all at once, could together send
three times ``INVIVO_REQUESTS_PER_MINUTE``. ``SharedWindowLimiter`` keeps the same window (a request
holds its place from its start until ``period_s`` after its answer, so no more than the budget
reaches the server in any window, however late each request arrives) as rows of one SQLite table
that every process using the file reads and writes under ``BEGIN IMMEDIATE``: taking a place is one
short write transaction, serialised across processes by SQLite's file lock.

Why SQLite and not the Dagster instance's database: the client stays pure Python with no Dagster
import, and the same file works whether the instance is on SQLite or PostgreSQL, for every process
on one host (sensors, the daemon, run workers, ``invivo sync``). Processes on different hosts need
a file they all see on one host's disk; SQLite's locks are not safe on a network filesystem.

The clock is the wall clock (``time.time``), the only one that processes share. A request whose
process died while it was in flight never gets its answer written: its place is released
``stale_after_s`` after its start, longer than any one request may take.
"""

from __future__ import annotations

import asyncio
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS places (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    answered REAL
)
"""


class SharedWindowLimiter:
    """At most ``max_requests`` requests in any window of ``period_s`` seconds, counted over every
    process whose limiter uses the file at ``path``. Each ``acquire`` is paired with a ``release``
    once the request is over; within one process requests are served FIFO."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        max_requests: int,
        period_s: float = 60.0,
        *,
        stale_after_s: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_requests < 1 or period_s <= 0:
            raise ValueError("a rate limit needs max_requests >= 1 and period_s > 0")
        self.path = Path(path)
        self.max_requests = max_requests
        self.period_s = period_s
        self.stale_after_s = stale_after_s
        self._clock = clock
        self._poll_s = min(0.25, period_s / 20)
        """How often to look again while every place is held by a request still in flight."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Used from worker threads (acquire) and the event loop (release), one at a time.
        self._db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._db_lock = threading.Lock()
        with self._db_lock:
            _set_up(self._db, deadline=time.monotonic() + 30.0)
        self._mine: list[int] = []
        """The places this process holds for requests in flight."""
        self._lock = asyncio.Lock()

    @classmethod
    def per_minute(
        cls, path: str | os.PathLike[str], requests_per_minute: float
    ) -> SharedWindowLimiter:
        """``floor(R)`` per rolling minute; below one a minute, one per ``60/R`` seconds."""
        if requests_per_minute >= 1:
            return cls(path, math.floor(requests_per_minute), 60.0)
        return cls(path, 1, 60.0 / requests_per_minute)

    async def acquire(self) -> None:
        async with self._lock:  # FIFO within this process; across processes, whoever writes first
            while True:
                taking = asyncio.ensure_future(asyncio.to_thread(self._take))
                try:
                    place, wait = await asyncio.shield(taking)
                except asyncio.CancelledError:
                    # The write may still commit: a place taken for no request is given back.
                    taking.add_done_callback(self._give_back)
                    raise
                if place is not None:
                    self._mine.append(place)
                    return
                await asyncio.sleep(wait)

    def release(self) -> None:
        # Which of this process's places gets the answer does not matter: each is one request.
        self._answer(self._mine.pop(0))

    def _answer(self, place: int) -> None:
        with self._db_lock:
            self._db.execute("UPDATE places SET answered = ? WHERE id = ?", (self._clock(), place))

    def _give_back(self, taking: asyncio.Future[tuple[int | None, float]]) -> None:
        if not taking.cancelled() and taking.exception() is None:
            place, _ = taking.result()
            if place is not None:
                self._answer(place)

    def close(self) -> None:
        with self._db_lock:
            self._db.close()

    def _take(self) -> tuple[int | None, float]:
        """A place if one is free now, else how long until one may be."""
        with self._db_lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                # A place is free once its request's answer is a period old (a request whose
                # answer never came is taken as answered ``stale_after_s`` after its start); a
                # place dated in the future is from before a clock step back, and is dropped.
                db.execute(
                    "DELETE FROM places WHERE coalesce(answered, started + ?) <= ? OR started > ?",
                    (self.stale_after_s, now - self.period_s, now + 1.0),
                )
                held, oldest_answer = db.execute(
                    "SELECT count(*), min(answered) FROM places"
                ).fetchone()
                if held < self.max_requests:
                    place = db.execute(
                        "INSERT INTO places (started) VALUES (?) RETURNING id", (now,)
                    ).fetchone()[0]
                    db.execute("COMMIT")
                    return place, 0.0
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        if oldest_answer is None:  # every place is held by a request in flight
            return None, self._poll_s
        return None, max(0.001, oldest_answer + self.period_s - now)


def _set_up(db: sqlite3.Connection, *, deadline: float) -> None:
    """WAL mode and the table, retried while another process does the same.

    Switching a new file to WAL needs an exclusive lock, and SQLite answers ``database is locked``
    at once, without its busy handler, when a second process is switching it too: the discovery
    sensor, the daemon and a run worker often open the file in the same instant.
    """
    pause = 0.01
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(SCHEMA)
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
