"""Connections that cannot be held open: a deadline for the request headers and a connection cap.

uvicorn (0.55) closes idle keep-alive connections (``timeout_keep_alive``) and bounds the size of
the headers (``h11_max_incomplete_event_size``), but nothing bounds the *time* a client takes to
send them: 300 connections that never finish their headers stay open for good, and once they
exhaust the process's file limit no sender gets in. ``guarded_protocol`` makes uvicorn's own h11
protocol with two additions:

- every request's headers must arrive within ``header_timeout_s`` of the connection opening (or,
  on a kept-alive connection, of its next request's first byte), else the connection is closed;
- beyond ``max_connections`` open connections, a new one closes the oldest connection that is
  still waiting for its headers (a sender with a request in progress is never closed for it), so
  a legitimate sender gets in at once, not only after the slow ones time out. Only when every
  connection has a request in progress is the new one refused.

The body's time is bounded by the app (``BODY_TIMEOUT_S``, answered with 408).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import resource

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
MAX_CONNECTIONS = 200
MAX_HEADER_BYTES = 16 * 1024
FILES_KEPT_FREE = 64
"""File descriptors left for the store, the log and the event loop when the cap is lowered."""

logger = logging.getLogger("invivo_pipeline.webhooks")
_opened = itertools.count()


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered if the process may not open that many files (and some to spare)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - FILES_KEPT_FREE))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a connection cap (see the module)."""

    header_timeout_s: float = HEADER_TIMEOUT_S
    max_connections: int = MAX_CONNECTIONS

    _deadline: asyncio.TimerHandle | None = None
    _order = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._order = next(_opened)
        self._arm()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.waiting_for_headers:
            self._arm()  # the first byte of a kept-alive connection's next request
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if not self.waiting_for_headers:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    @property
    def waiting_for_headers(self) -> bool:
        """No request in progress: before the first request's headers, or between requests."""
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if self.waiting_for_headers and not self.transport.is_closing():
            logger.debug(
                "closed a connection: no request headers within %gs", self.header_timeout_s
            )
            self.transport.close()

    def _make_room(self) -> None:
        waiting = [
            c
            for c in self.connections
            if isinstance(c, GuardedH11Protocol)
            and c is not self
            and c.waiting_for_headers
            and not c.transport.is_closing()
        ]
        victim = min(waiting, key=lambda c: c._order, default=self)
        if victim is self:
            logger.warning("refused a connection: %d requests in progress", len(self.connections))
        victim.transport.close()


def guarded_protocol(header_timeout_s: float, max_connections: int) -> type[GuardedH11Protocol]:
    """The protocol class to give uvicorn (``http=``), with these bounds."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout_s": header_timeout_s, "max_connections": max_connections},
    )


def uvicorn_options(header_timeout_s: float, max_connections: int) -> dict[str, object]:
    """What the receiver passes to ``uvicorn.Config``/``uvicorn.run``, wherever it runs."""
    return {
        "http": guarded_protocol(header_timeout_s, connection_cap(max_connections)),
        "timeout_keep_alive": KEEP_ALIVE_S,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }
