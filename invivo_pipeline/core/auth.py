"""An access token shared by every concurrent request of one client, whoever issues it.

Refreshing early (``min(60 s, 20 % of expires_in)`` before expiry, measured from when the request
was sent) keeps requests from racing the expiry; the 20 % keeps short test TTLs workable. A lock
with a second check inside makes a crowd of requests that all find the token stale cause ONE token
request, and ``invalidate`` only drops the token that actually failed, so a 401 arriving after
another task already refreshed does not throw away the fresh token.

A token is reused for at least ``MIN_TOKEN_REUSE_S`` whatever ``expires_in`` says: a server that
answers 0, a negative number or a second would otherwise cost a token request per API request.
If the token really is dead sooner, the 401 that follows refreshes it as usual.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

REFRESH_MARGIN_MAX_S = 60.0
REFRESH_MARGIN_FRACTION = 0.2
MIN_TOKEN_REUSE_S = 30.0


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and how long its issuer says it lasts (OAuth2's ``expires_in``)."""

    access_token: str = field(repr=False)
    expires_in: float


def refresh_margin(expires_in: float) -> float:
    return min(REFRESH_MARGIN_MAX_S, REFRESH_MARGIN_FRACTION * expires_in)


def reuse_for(expires_in: float) -> float:
    """Seconds from sending the token request until the token is refreshed."""
    return max(MIN_TOKEN_REUSE_S, expires_in - refresh_margin(expires_in))


class TokenProvider:
    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def _current(self) -> str | None:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        return None

    async def token(self) -> str:
        if (token := self._current()) is not None:
            return token
        async with self._lock:
            if (token := self._current()) is not None:
                return token
            sent_at = self._clock()
            issued = await self._fetch()
            self._token = issued.access_token
            self._refresh_at = sent_at + reuse_for(issued.expires_in)
            return self._token

    def handoff(self) -> tuple[str, float] | None:
        """The current token and when it is due for refresh (on ``time.monotonic``'s clock,
        which every process of one host shares), for another process's client to ``adopt``."""
        if (token := self._current()) is None or self._clock is not time.monotonic:
            return None
        return token, self._refresh_at

    def adopt(self, handed: tuple[str, float] | None) -> None:
        """Use a token another client of the same credentials obtained, unless this one holds a
        fresher one: a worker process then sends no token request of its own."""
        if handed is not None and self._current() is None and self._clock() < handed[1]:
            self._token, self._refresh_at = handed

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after a 401, unless it has already been replaced."""
        if self._token == token:
            self._token = None
