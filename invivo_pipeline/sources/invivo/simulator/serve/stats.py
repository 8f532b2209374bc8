"""Counters that let tests see what a client did to the API (retries, concurrency, faults met)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Updated from the server's event loop, read from test threads: every access is locked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests = 0
            self._token_requests = 0
            self._unauthorized = 0
            self._faults: Counter[str] = Counter(rate_limited=0, server_error=0, malformed=0)
            self._by_route: Counter[str] = Counter()
            self._by_status: Counter[int] = Counter()
            self._max_in_flight = self._in_flight

    def request(self, route: str) -> None:
        with self._lock:
            self._requests += 1
            self._by_route[route] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def done(self, status: int) -> None:
        with self._lock:
            self._in_flight -= 1
            self._by_status[status] += 1

    def token_request(self) -> None:
        with self._lock:
            self._token_requests += 1

    def unauthorized(self) -> None:
        with self._lock:
            self._unauthorized += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "token_requests": self._token_requests,
                "faults": dict(self._faults),
                "unauthorized": self._unauthorized,
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "by_route": dict(sorted(self._by_route.items())),
                "by_status": {str(k): v for k, v in sorted(self._by_status.items())},
            }
