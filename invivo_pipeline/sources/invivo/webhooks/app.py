"""The webhook receiver: authenticate, bound, validate, store, answer. Nothing else.

``POST /webhooks/invivo`` takes one event envelope ``{id, client_id, event, version, created_at,
payload}`` as the In Vivo reference documents it. The reference does not define how a sender is
authenticated, so the sender must put a shared secret in ``X-Invivo-Webhook-Secret``; it is
compared in constant time, and neither it nor the header is ever logged or echoed.

Answers, in the order they are decided:

- 401 if the secret is missing or wrong (before the body is read);
- 413 if the body is larger than the limit (1 MiB by default), decided from ``Content-Length`` or
  while streaming, so an oversized body is never read whole;
- 408 if the body has not arrived whole within the body timeout (20 s by default), so a sender
  that trickles its body cannot hold a connection (``connections`` bounds the headers' time);
- 422 if the body is not JSON or not an envelope, or outside ``limits`` (field lengths, nesting
  depth): field paths and the bound, never the values;
- 200 ``{"id", "stored": true}`` for a new event, ``{"id", "stored": false}`` for a redelivery:
  both mean "you can stop sending it";
- 503 if the store cannot be written, so that the sender retries.

The receiver does no work on behalf of an event: the Dagster sensor reads the store and decides.
That keeps the answer fast (a sender times out) and the receiver independent of Dagster.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import sqlite3
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from invivo_pipeline.sources.invivo.models import WebhookEvent
from invivo_pipeline.sources.invivo.webhooks.limits import (
    MAX_DEPTH,
    field_problems,
    nests_deeper_than,
)
from invivo_pipeline.sources.invivo.webhooks.log_text import loggable
from invivo_pipeline.sources.invivo.webhooks.store import EventStore

WEBHOOK_PATH = "/webhooks/invivo"
SECRET_HEADER = "X-Invivo-Webhook-Secret"
MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT_S = 20.0
_EVENT_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")

logger = logging.getLogger("invivo_pipeline.webhooks")


def _json(status: int, body: dict[str, Any], *, hang_up: bool = False) -> Response:
    """``hang_up`` for answers given before the body was read: ``Connection: close`` makes the
    server close the connection instead of reading (and discarding) the rest of the body."""
    headers = {"Connection": "close"} if hang_up else None
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


class BodyTooLarge(Exception):
    pass


async def _read_bounded(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _envelope_problems(body: bytes) -> tuple[WebhookEvent | None, list[str]]:
    """The validated envelope, or what is wrong with it (paths and kinds, never values)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, ["body: not valid JSON"]
    if not isinstance(data, dict):
        return None, [f"body: expected a JSON object, got {type(data).__name__}"]
    if nests_deeper_than(body, MAX_DEPTH):
        return None, [f"payload: nests deeper than {MAX_DEPTH} levels"]
    if problems := field_problems(data):
        return None, problems
    try:
        event = WebhookEvent.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['type']}" for e in exc.errors()
        ]
        return None, problems[:10]
    if not _EVENT_NAME.match(event.event):
        return None, ["event: must look like <entity>.<action>"]
    return event, []


def create_app(
    store: EventStore,
    secret: str,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> FastAPI:
    if not secret:
        raise ValueError("the webhook receiver needs a non-empty shared secret")
    expected = secret.encode()
    app = FastAPI(
        title="In Vivo webhook receiver",
        description="Stores In Vivo webhook events for the pipeline's sensor.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.store = store

    @app.post(WEBHOOK_PATH)
    async def receive(request: Request) -> Response:
        provided = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(provided, expected):
            client = request.client.host if request.client else "?"
            logger.warning("rejected a webhook from %s: missing or wrong secret", client)
            return _json(401, {"message": "Unauthenticated."}, hang_up=True)
        try:
            async with asyncio.timeout(body_timeout_s):
                body = await _read_bounded(request, max_body_bytes)
        except TimeoutError:
            client = request.client.host if request.client else "?"
            logger.warning(
                "rejected a webhook from %s: body not received within %gs", client, body_timeout_s
            )
            message = f"The body must arrive within {body_timeout_s:g} s."
            return _json(408, {"message": message}, hang_up=True)
        except BodyTooLarge:
            logger.warning("rejected a webhook: body larger than %d bytes", max_body_bytes)
            message = f"The body must be at most {max_body_bytes} bytes."
            return _json(413, {"message": message}, hang_up=True)
        event, problems = _envelope_problems(body)
        if event is None:
            logger.warning("rejected a webhook: %s", "; ".join(problems))
            return _json(422, {"message": "Not a webhook event envelope.", "errors": problems})
        created_at = event.created_at.isoformat() if event.created_at else None
        try:
            stored = await run_in_threadpool(store.add, event.id, event.event, created_at, body)
        except sqlite3.Error as exc:
            logger.error("could not store webhook %s: %s", loggable(event.id), type(exc).__name__)
            return _json(503, {"message": "The event could not be stored; retry later."})
        shown = (loggable(event.id), loggable(event.event))
        if stored:
            logger.info("stored webhook %s (%s)", *shown)
        else:
            logger.info("webhook %s (%s) was already stored", *shown)
        return _json(200, {"id": event.id, "stored": stored})

    @app.get("/healthz")
    async def health() -> Response:
        return _json(200, {"status": "ok"})

    return app
