"""A proxy in front of a real server (the simulator) that alters one thing at a time.

Everything passes through untouched except the answers whose path contains ``Alteration.match``:
those come back as a status, drip-fed, as raw bytes, truncated, or with paging metadata that
never ends. This is how the whole pipeline (``invivo sync``, a Dagster run) is shown to fail in
one clear line, for each way a server can be broken, against an otherwise real tenant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from invivo_pipeline.core.background_server import BackgroundServer
from invivo_pipeline_tests.support.stub_api import drip

_HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


@dataclass
class Alteration:
    match: str
    """Substring of the request path the alteration applies to."""
    kind: str
    """status | drip | raw | truncated | endless_pages | nested | not_utf8 | large"""
    status: int = 500
    body: Any = None
    every_s: float = 0.5


class HostileProxy(BackgroundServer):
    """``HostileProxy(upstream).start()``; set ``alteration`` before the client runs."""

    name = "hostile proxy"

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.alteration: Alteration | None = None
        self.altered = 0
        super().__init__(self._app())

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{full_path:path}", methods=["GET", "POST"])
        async def handle(request: Request, full_path: str) -> Response:
            alteration = self.alteration
            if alteration is not None and alteration.match in request.url.path:
                self.altered += 1
                early = _instead(alteration)
                if early is not None:
                    return early
            async with httpx.AsyncClient(base_url=self.upstream, timeout=60) as client:
                answer = await client.request(
                    request.method,
                    request.url.path,
                    params=request.query_params,
                    headers={k: v for k, v in request.headers.items() if k not in _HOP_BY_HOP},
                    content=await request.body(),
                )
            body = answer.content
            if alteration is not None and alteration.match in request.url.path:
                body = _altered(alteration, body, request)
            return Response(
                body,
                status_code=answer.status_code,
                media_type=answer.headers.get("content-type"),
            )

        return app


def _instead(alteration: Alteration) -> Response | None:
    """An answer that does not need the real one."""
    if alteration.kind == "status":
        body = json.dumps({"message": alteration.body or f"altered {alteration.status}"})
        return Response(body, status_code=alteration.status, media_type="application/json")
    if alteration.kind == "drip":
        return StreamingResponse(drip(alteration.every_s), media_type="application/json")
    if alteration.kind == "raw":
        return Response(alteration.body, media_type="application/json")
    if alteration.kind == "truncated":
        return Response(b'{"data": [{"id": "x", "na', media_type="application/json")
    if alteration.kind == "nested":
        deep = b"[" * 100_000 + b"]" * 100_000
        return Response(b'{"data": [{"x": ' + deep + b"}]}", media_type="application/json")
    if alteration.kind == "large":
        return StreamingResponse(_large(int(alteration.body)), media_type="application/json")
    return None


def _altered(alteration: Alteration, body: bytes, request: Request) -> bytes:
    """The real answer, changed."""
    if alteration.kind == "endless_pages":
        # A server that ignores ``page`` and claims a billion pages.
        page = json.loads(body)
        page["meta"]["current_page"] = int(request.query_params.get("page", "1"))
        page["meta"]["last_page"] = 10**9
        return json.dumps(page).encode()
    if alteration.kind == "not_utf8":
        return body.replace(b'"id":"', b'"id":"\xff', 1).replace(b'"id": "', b'"id": "\xff', 1)
    if alteration.kind == "record":
        page = json.loads(body)
        page["data"][0].update(alteration.body)
        return json.dumps(page).encode()
    return body


async def _large(size: int) -> Any:
    chunk = b'{"id": "x", "name": "padding padding padding"},' * 20_000
    yield b'{"data": ['
    sent = 0
    while sent < size:
        sent += len(chunk)
        yield chunk
