"""Delivering webhook events to a receiver the way a webhook sender does: one POST per event.

The In Vivo reference documents the events and their envelope but not how a receiver authenticates
the sender, so the pipeline uses a shared secret in a header (``X-Invivo-Webhook-Secret``) that the
receiver compares in constant time. Delivery retries what a sender retries (connection errors, 429
and 5xx) a few times with a short backoff, and reports what it could not deliver instead of raising:
losing an event must never lose data, because the pipeline's reconcile schedule catches it anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

SECRET_HEADER = "X-Invivo-Webhook-Secret"
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})

logger = logging.getLogger("invivo_pipeline.simulator.webhooks")


@dataclass
class Delivery:
    """What happened to each event: delivered (2xx), or failed after its attempts."""

    delivered: int = 0
    failed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    """Final outcome per event: the HTTP status, or the transport error's class name."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "statuses": dict(sorted(self.statuses.items())),
        }


async def deliver(
    events: Sequence[dict[str, Any]],
    url: str,
    secret: str | None,
    *,
    concurrency: int = 8,
    attempts: int = 4,
    backoff_s: float = 0.1,
    timeout_s: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Delivery:
    """POST every event to ``url``, ``concurrency`` at a time; never raises for a failed event."""
    report = Delivery()
    slots = asyncio.Semaphore(max(1, concurrency))
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[SECRET_HEADER] = secret

    async def send(client: httpx.AsyncClient, event: dict[str, Any]) -> None:
        body = orjson.dumps(event)
        outcome = "not sent"
        for attempt in range(max(1, attempts)):
            if attempt:
                await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
            try:
                async with slots:
                    response = await client.post(url, content=body, headers=headers)
            except httpx.TransportError as exc:
                outcome = type(exc).__name__
                continue
            outcome = str(response.status_code)
            if response.is_success or response.status_code not in RETRYABLE:
                break
        report.statuses[outcome] += 1
        if outcome.startswith("2"):
            report.delivered += 1
        else:
            report.failed += 1
            # The event id and type only: the URL may carry a token, the headers the secret.
            logger.warning(
                "webhook %s (%s) not delivered: %s", event["id"], event["event"], outcome
            )

    async with httpx.AsyncClient(timeout=timeout_s, transport=transport) as client:
        await asyncio.gather(*(send(client, event) for event in events))
    return report
