"""A scriptable stand-in for the In Vivo API, served over real HTTP on 127.0.0.1 for client tests.

It does what the client must cope with and nothing more: Laravel-style pages with a ``perPage`` cap
and a ``links.next`` that drops ``perPage`` and the filters, client-credentials tokens with a
configurable lifetime, and faults injected on demand (429 + Retry-After, 5xx, truncated JSON, wrong
envelope, 401, slow answers). It records every request it received and the most it had in flight.
The product's simulator is the realistic one; this one is small enough to script per test.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from invivo_pipeline.core.background_server import BackgroundServer
from invivo_pipeline.sources.invivo.table import API_PREFIX, TOKEN_PATH

CLIENT_ID = "stub-client-id"
CLIENT_SECRET = "stub-secret-9f8e7d6c5b4a"  # asserted absent from every error and log line
ECHO = "echo-credentials"


@dataclass
class Fault:
    """What to do instead of answering normally, for the next ``times`` matching requests."""

    kind: str
    """status | truncated | envelope | slow | unauthorized | text | raw | drip | stream | meta:
    ``text`` answers ``body`` (str, may call the request) as text/plain with ``status``; ``raw``
    answers the bytes ``body`` as JSON; ``drip`` sends headers, then a byte every ``delay_s``,
    forever; ``stream`` sends ``body`` bytes of a JSON-looking page (declared in Content-Length if
    ``declare``); ``meta`` serves page 1's records whatever page is asked, with ``body`` merged
    into ``meta`` (a server that ignores ``page``)."""
    match: str = ""
    """Substring of the path (without the API prefix) the fault applies to; empty = any."""
    page: int | None = None
    status: int = 500
    retry_after: str | None = None
    delay_s: float = 0.0
    times: int = 1
    body: Any = None
    declare: bool = False


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    at: float
    body: bytes = b""


@dataclass
class StubState:
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_page_cap: int = 100
    default_per_page: int = 15
    token_ttl_s: int = 3600
    reported_expires_in: int | None = None
    """What the token answer says as ``expires_in``, when it lies about ``token_ttl_s``."""
    delay_s: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    before_list_page: Callable[[str, int], None] | None = None
    received: int = 0
    arrival_delay: Callable[[int], float] | None = None
    """Seconds the n-th request (from 0) takes to reach the server's count: the network's and the
    server's queue's delays, which vary from one request to the next."""

    def inject(self, kind: str, match: str = "", **kwargs: Any) -> Fault:
        fault = Fault(kind, match, **kwargs)
        self.faults.append(fault)
        return fault

    def take_fault(self, path: str, page: int | None) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.match in path and fault.page in (None, page):
                fault.times -= 1
                return fault
        return None

    def requests_to(self, path: str, method: str = "GET") -> list[Seen]:
        return [s for s in self.seen if s.path == path and s.method == method]

    @property
    def api_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path != TOKEN_PATH]

    @property
    def token_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path == TOKEN_PATH]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def build_app(state: StubState) -> FastAPI:
    app = FastAPI()

    @app.api_route("/{full_path:path}", methods=["GET", "POST"])
    async def handle(request: Request, full_path: str) -> Response:
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            return await _answer(state, request)
        finally:
            state.in_flight -= 1

    return app


async def _answer(state: StubState, request: Request) -> Response:
    path = request.url.path
    params = dict(request.query_params)
    body = await request.body()
    state.received += 1
    if state.arrival_delay is not None:
        await asyncio.sleep(state.arrival_delay(state.received - 1))
    state.seen.append(
        Seen(request.method, path, params, dict(request.headers), time.monotonic(), body)
    )
    page_number = int(params["page"]) if params.get("page", "").isdigit() else None
    fault = state.take_fault(path.removeprefix(API_PREFIX), page_number)
    if state.delay_s:
        await asyncio.sleep(state.delay_s)
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.delay_s)
        fault = None
    if fault is not None:
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
            message = fault.body if isinstance(fault.body, str) else f"injected {fault.status}"
            if fault.body == ECHO:  # a careless server that repeats credentials back
                message = f"{request.headers.get('authorization')} {body.decode()}"
            return _error(fault.status, message, headers)
        if fault.kind == "truncated":
            return Response(
                b'{"data": [{"id": "aml_1", "name": "Mou', media_type="application/json"
            )
        if fault.kind == "envelope":
            return JSONResponse(fault.body if fault.body is not None else {"items": []})
        if fault.kind == "unauthorized":
            return _error(401, "Unauthenticated.")
        if fault.kind == "text":
            text = fault.body(body) if callable(fault.body) else fault.body
            return Response(text, status_code=fault.status, media_type="text/plain")
        if fault.kind == "raw":
            return Response(fault.body, media_type="application/json")
        if fault.kind == "drip":
            return StreamingResponse(drip(fault.delay_s), media_type="application/json")
        if fault.kind == "stream":
            size = int(fault.body)
            headers = {"Content-Length": str(size)} if fault.declare else None
            return StreamingResponse(
                _large_page(size), media_type="application/json", headers=headers
            )
    if path == TOKEN_PATH and request.method == "POST":
        return _token(state, body)
    if not _authorized(state, request):
        return _error(401, "Unauthenticated.")
    if request.method != "GET":
        return _error(405, "Method not allowed.")
    relative = path.removeprefix(API_PREFIX)
    if relative in state.lists:
        if fault is not None and fault.kind == "meta":
            return _page(state, request, relative, {**params, "page": "1"}, meta=fault.body)
        return _page(state, request, relative, params)
    if relative in state.objects:
        return JSONResponse(state.objects[relative])
    return _error(404, f"No query results for {relative}.")


def _token(state: StubState, body: bytes) -> Response:
    try:
        payload = json.loads(body)
    except ValueError:
        return _error(400, "The request body is not JSON.")
    if payload.get("grant_type") != "client_credentials":
        return _error(400, "Unsupported grant type.")
    if payload.get("client_id") != CLIENT_ID or payload.get("client_secret") != CLIENT_SECRET:
        return _error(401, "Client authentication failed.")
    token = "tok-" + secrets.token_urlsafe(24)
    state.tokens[token] = time.monotonic() + state.token_ttl_s
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": state.token_ttl_s
            if state.reported_expires_in is None
            else state.reported_expires_in,
            "access_token": token,
        }
    )


def _authorized(state: StubState, request: Request) -> bool:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return False
    expires = state.tokens.get(header.removeprefix("Bearer "))
    return expires is not None and time.monotonic() < expires


async def drip(every_s: float) -> Any:
    """A page that starts, then trickles a byte every ``every_s`` forever: no read ever times out."""
    yield b'{"data": ['
    while True:
        await asyncio.sleep(every_s)
        yield b" "


async def _large_page(size: int) -> Any:
    record = b'{"id": "usr_0000000000", "name": "a user with a long enough name"},'
    chunk = record * (1024 * 1024 // len(record))
    yield b'{"data": ['
    sent = 10
    while sent < size:
        part = chunk[: size - sent]
        sent += len(part)
        yield part
        await asyncio.sleep(0)


def _page(
    state: StubState,
    request: Request,
    relative: str,
    params: dict[str, str],
    meta: dict[str, Any] | None = None,
) -> Response:
    number = int(params.get("page", "1"))
    asked = int(request.query_params.get("page", "1"))
    if state.before_list_page is not None:
        state.before_list_page(relative, number)
    per_page = min(int(params.get("perPage", state.default_per_page)), state.per_page_cap)
    filters = {k: v for k, v in params.items() if k not in ("page", "perPage")}
    records = [
        r
        for r in state.lists[relative]
        if all(str(r.get(k)) == v for k, v in filters.items() if k in r)
    ]
    total = len(records)
    last_page = max(1, math.ceil(total / per_page))
    start = (number - 1) * per_page
    data = records[start : start + per_page]
    base = f"{request.url.scheme}://{request.url.netloc}{API_PREFIX}{relative}"
    return JSONResponse(
        {
            "data": data,
            "links": {
                "first": f"{base}?page=1",
                "last": f"{base}?page={last_page}",
                "prev": f"{base}?page={number - 1}" if number > 1 else None,
                "next": f"{base}?page={number + 1}" if number < last_page else None,
            },
            "meta": {
                "current_page": number,
                "from": start + 1 if data else None,
                "last_page": last_page,
                "path": base,
                "per_page": per_page,
                "to": start + len(data) if data else None,
                "total": total,
            }
            | ({"current_page": asked, **meta} if meta is not None else {}),
        }
    )


class StubServer(BackgroundServer):
    """The stub app on a free loopback port, served by uvicorn in a daemon thread."""

    name = "stub API"

    def __init__(self) -> None:
        self.state = StubState()
        super().__init__(build_app(self.state))

    @property
    def url(self) -> str:
        return self.base_url

    def reset(self) -> StubState:
        """A fresh script for the next test, on the same running server."""
        fresh = StubState()
        self.state.__dict__.update(fresh.__dict__)
        return self.state
