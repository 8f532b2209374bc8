"""When to try a request again, and how long to wait first.

- 429: wait exactly what ``Retry-After`` says (seconds or an HTTP date): the server knows when its
  window reopens, and guessing shorter just buys another 429. Without the header, back off.
- 500/502/503/504, timeouts, dropped connections, unparsable bodies: exponential backoff with full
  jitter (uniform in ``[0, min(cap, base * 2**n)]``), so concurrent requests that failed together
  do not come back together.
- A refused or unresolvable connection: only ``connect_retries`` quick retries. A host that is not
  there will not appear in 30 s, and a wrong URL should fail in about a second.

Everything is bounded by ``max_retries``; tenacity does the looping.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from invivo_pipeline.core.errors import ClientError

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
CONNECT_BACKOFF_CAP_S = 0.5


class Cause(StrEnum):
    """Why a request was retried; metrics count retries by cause."""

    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    TRANSPORT = "transport"
    CONNECT = "connect"
    MALFORMED = "malformed"


class RetryableFailure(Exception):
    """One failed attempt that may succeed if repeated.

    ``final(attempts)`` builds the error raised once retries run out; its text with ``None`` (no
    attempt count) is what the retry log line shows.
    """

    def __init__(
        self,
        cause: Cause,
        final: Callable[[int | None], ClientError],
        retry_after: float | None = None,
    ) -> None:
        super().__init__(str(final(None)))
        self.cause = cause
        self.final = final
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 6
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    connect_retries: int = 2

    def backoff(self, retry_number: int, cause: Cause) -> float:
        """Full-jitter exponential delay before retry number ``retry_number`` (1-based)."""
        cap = CONNECT_BACKOFF_CAP_S if cause is Cause.CONNECT else self.backoff_max_s
        ceiling = min(cap, self.backoff_base_s * (2 ** (retry_number - 1)))
        return random.uniform(0.0, ceiling)

    def wait(self, state: RetryCallState) -> float:
        failure = _failure(state)
        if failure.retry_after is not None:
            return failure.retry_after
        return self.backoff(state.attempt_number, failure.cause)

    def stop(self, state: RetryCallState) -> bool:
        failure = _failure(state)
        retries_so_far = state.attempt_number - 1
        if failure.cause is Cause.CONNECT:
            return retries_so_far >= min(self.connect_retries, self.max_retries)
        return retries_so_far >= self.max_retries

    def retrying(self, before_sleep: Callable[[RetryCallState], None]) -> AsyncRetrying:
        """A tenacity loop that retries only ``RetryableFailure`` and re-raises the last one."""
        return AsyncRetrying(
            retry=retry_if_exception_type(RetryableFailure),
            wait=self.wait,
            stop=self.stop,
            before_sleep=before_sleep,
            reraise=True,
        )


def _failure(state: RetryCallState) -> RetryableFailure:
    assert state.outcome is not None
    exc = state.outcome.exception()
    assert isinstance(exc, RetryableFailure)
    return exc
