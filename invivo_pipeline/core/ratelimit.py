"""Client-side request budget, so a study fan-out stays under the API's limit instead of meeting it.

``SlidingWindowLimiter`` gives each of the last ``max_requests`` requests a place that it holds from
its start until ``period_s`` after its answer came back, and lets a new request start only into a
free place. A server counts a request when it arrives, which is after its start and before its
answer, so this is an exact guarantee on the server's side too: in ANY interval of length
``period_s`` at most ``max_requests`` requests arrive, however much the network or the server's
queue delays each one. (Counting from the start alone let a quick request follow a slow one by less
than the period at the server, so a sync paced at exactly the server's limit still met 429s:
docs/performance.md.)
A leaky or token bucket (aiolimiter) only bounds the average and lets nearly twice the budget
through in some windows, which is exactly what trips a server counting a rolling minute. The log
is at most ``max_requests`` floats.

The window is this process's own. A deployment's processes (sensors, runs, ``invivo sync``) share
one through ``shared_budget.SharedWindowLimiter``, the same window kept in a SQLite file.

``PauseGate`` holds every request back after a 429 with ``Retry-After``: once the server has said
"not before T", none of the other concurrent requests should spend a request learning it again.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol


class RateLimiter(Protocol):
    async def acquire(self) -> None:
        """Return when one more request may start now."""
        ...

    def release(self) -> None:
        """The request ``acquire`` let start has its answer, or failed: it reached the server, if
        at all, by now (bar one that timed out while still queued on the way, which the server may
        count later: rare enough, and its 429 is handled as any other)."""
        ...


class Unlimited:
    async def acquire(self) -> None:
        return None

    def release(self) -> None:
        return None


class SlidingWindowLimiter:
    """At most ``max_requests`` requests in any window of ``period_s`` seconds, counted from their
    start and from their arrival alike; served FIFO. Each ``acquire`` is paired with a ``release``
    once the request is over."""

    def __init__(
        self,
        max_requests: int,
        period_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_requests < 1 or period_s <= 0:
            raise ValueError("a rate limit needs max_requests >= 1 and period_s > 0")
        self.max_requests = max_requests
        self.period_s = period_s
        self._clock = clock
        self._sleep = sleep
        self._in_flight = 0
        self._answered: deque[float] = deque()
        """When each request of the last ``period_s`` was over, oldest first."""
        self._lock = asyncio.Lock()
        self._released = asyncio.Event()

    @classmethod
    def per_minute(cls, requests_per_minute: float) -> SlidingWindowLimiter:
        """``floor(R)`` per rolling minute; below one a minute, one per ``60/R`` seconds."""
        if requests_per_minute >= 1:
            return cls(math.floor(requests_per_minute), 60.0)
        return cls(1, 60.0 / requests_per_minute)

    async def acquire(self) -> None:
        # The lock makes waiters queue in arrival order; asyncio.Lock is FIFO.
        async with self._lock:
            while True:
                now = self._clock()
                while self._answered and self._answered[0] <= now - self.period_s:
                    self._answered.popleft()
                if self._in_flight + len(self._answered) < self.max_requests:
                    self._in_flight += 1
                    return
                if self._answered:
                    await self._sleep(self._answered[0] + self.period_s - now)
                else:  # every place is held by a request in flight: its period starts at its end
                    self._released.clear()
                    await self._released.wait()

    def release(self) -> None:
        self._in_flight -= 1
        self._answered.append(self._clock())
        self._released.set()


class PauseGate:
    """Every request waits here until the latest ``Retry-After`` deadline has passed."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0

    def pause_for(self, seconds: float) -> None:
        self._until = max(self._until, self._clock() + seconds)

    async def wait(self) -> None:
        while (delay := self._until - self._clock()) > 0:
            await asyncio.sleep(delay)
