"""Client-side request budget, so a study fan-out stays under the API's limit instead of meeting it.

``SlidingWindowLimiter`` keeps the start times of the last ``max_requests`` requests and lets a new
one start only when the oldest of them is at least ``period_s`` old. That is an exact guarantee: in
ANY interval of length ``period_s`` at most ``max_requests`` requests start. A leaky or token bucket
(aiolimiter) only bounds the average and lets nearly twice the budget through in some windows, which
is exactly what trips a server counting a rolling minute. The log is ``max_requests`` floats.

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


class Unlimited:
    async def acquire(self) -> None:
        return None


class SlidingWindowLimiter:
    """At most ``max_requests`` acquisitions in any window of ``period_s`` seconds, served FIFO."""

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
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

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
                while self._starts and self._starts[0] <= now - self.period_s:
                    self._starts.popleft()
                if len(self._starts) < self.max_requests:
                    self._starts.append(now)
                    return
                await self._sleep(self._starts[0] + self.period_s - now)


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
