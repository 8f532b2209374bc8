"""The failure modes a production API client has to survive, injected reproducibly.

Each API request draws the same number of values from one generator seeded with ``fault_seed``,
whatever happens to it, so a given sequence of requests always meets the same faults. The rate
limit is the exception: it is a real sliding window over wall-clock time, like the API's.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from invivo_pipeline.sources.invivo.simulator.serve.settings import SimulatorSettings

_SERVER_ERRORS = (
    (500, "Server Error"),
    (502, "Bad Gateway"),
    (503, "Service Unavailable"),
)


@dataclass(frozen=True)
class Fault:
    kind: str
    """``rate_limited`` or ``server_error`` (the ``stats`` counter it increments)."""
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """What happens to one request: a fault instead of an answer, or where to cut a 200 body."""

    fault: Fault | None
    cut: float | None
    """Fraction of a 200 body to keep (``None``: serve it whole)."""
    headers: dict[str, str]

    def malform(self, body: bytes) -> bytes:
        if self.cut is None or len(body) < 2:
            return body
        # Any strict prefix of a JSON object is invalid JSON.
        return body[: max(1, min(len(body) - 1, int(len(body) * self.cut)))]


class FaultInjector:
    def __init__(
        self, settings: SimulatorSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._rng = random.Random(settings.fault_seed)
        self._admitted: deque[float] = deque()
        self._lock = threading.Lock()

    def judge(self) -> Verdict:
        s = self._settings
        with self._lock:
            error_roll, status_roll, malformed_roll, cut_roll = (
                self._rng.random() for _ in range(4)
            )
            headers: dict[str, str] = {}
            if s.rate_limit_per_minute is not None:
                limited = self._rate_limit(s.rate_limit_per_minute, headers)
                if limited is not None:
                    return Verdict(limited, None, headers)
        if error_roll < s.error_rate:
            status, message = _SERVER_ERRORS[min(2, int(status_roll * 3))]
            extra = {"Retry-After": "1"} if status == 503 else {}
            return Verdict(Fault("server_error", status, message, extra), None, headers)
        cut = 0.1 + 0.8 * cut_roll if malformed_roll < s.malformed_rate else None
        return Verdict(None, cut, headers)

    def _rate_limit(self, limit: int, headers: dict[str, str]) -> Fault | None:
        now = self._clock()
        window = self._admitted
        span = self._settings.rate_limit_window_s
        while window and window[0] <= now - span:
            window.popleft()
        headers["X-RateLimit-Limit"] = str(limit)
        if len(window) >= limit:
            retry_after = max(1, math.ceil(window[0] + span - now))
            headers["X-RateLimit-Remaining"] = "0"
            headers["Retry-After"] = str(retry_after)
            return Fault("rate_limited", 429, "Too Many Attempts.", dict(headers))
        window.append(now)
        headers["X-RateLimit-Remaining"] = str(limit - len(window))
        return None
