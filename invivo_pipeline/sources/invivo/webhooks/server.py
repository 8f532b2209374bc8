"""Running the receiver: ``invivo webhooks serve`` in the foreground, or in a thread for tests.

Configuration, all from the environment so that the secret never appears on a command line:

- ``INVIVO_WEBHOOK_SECRET`` (required): the shared secret senders put in
  ``X-Invivo-Webhook-Secret``;
- ``INVIVO_WEBHOOK_DB``: the SQLite event store (default ``data/webhook_events.sqlite``), which the
  Dagster sensor reads with the same variable;
- ``INVIVO_WEBHOOK_MAX_BYTES``: the largest body accepted (default 1 MiB);
- ``INVIVO_WEBHOOK_HEADER_TIMEOUT_S`` (default 10), ``INVIVO_WEBHOOK_BODY_TIMEOUT_S`` (default
  20): how long a request's headers, then its body, may take before the connection is closed;
- ``INVIVO_WEBHOOK_MAX_CONNECTIONS`` (default 200, lowered to fit the process's file limit):
  beyond it the oldest connection still waiting for its headers is closed (``connections``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import uvicorn

from invivo_pipeline.core.background_server import BackgroundServer
from invivo_pipeline.core.env_settings import positive_int
from invivo_pipeline.sources.invivo.webhooks.app import (
    BODY_TIMEOUT_S,
    MAX_BODY_BYTES,
    WEBHOOK_PATH,
    create_app,
)
from invivo_pipeline.sources.invivo.webhooks.connections import (
    HEADER_TIMEOUT_S,
    MAX_CONNECTIONS,
    uvicorn_options,
)
from invivo_pipeline.sources.invivo.webhooks.store import EventStore, webhook_db_path

SECRET_ENV = "INVIVO_WEBHOOK_SECRET"
MAX_BYTES_ENV = "INVIVO_WEBHOOK_MAX_BYTES"
HEADER_TIMEOUT_ENV = "INVIVO_WEBHOOK_HEADER_TIMEOUT_S"
BODY_TIMEOUT_ENV = "INVIVO_WEBHOOK_BODY_TIMEOUT_S"
MAX_CONNECTIONS_ENV = "INVIVO_WEBHOOK_MAX_CONNECTIONS"


class ReceiverConfigError(Exception):
    """The receiver cannot start; the message is the one line to show."""


def serve_from_env(
    *, host: str, port: int, db: Path | None = None, env: Mapping[str, str] = os.environ
) -> None:
    secret = env.get(SECRET_ENV)
    if not secret:
        raise ReceiverConfigError(
            f"{SECRET_ENV} is not set: the receiver only accepts senders that know the secret"
        )

    def setting(name: str, default: float) -> int:
        return positive_int(env, name, int(default), ReceiverConfigError)

    store = EventStore(db or webhook_db_path(env))
    app = create_app(
        store,
        secret,
        max_body_bytes=setting(MAX_BYTES_ENV, MAX_BODY_BYTES),
        body_timeout_s=setting(BODY_TIMEOUT_ENV, BODY_TIMEOUT_S),
    )
    options = uvicorn_options(
        setting(HEADER_TIMEOUT_ENV, HEADER_TIMEOUT_S), setting(MAX_CONNECTIONS_ENV, MAX_CONNECTIONS)
    )
    log = logging.getLogger("invivo_pipeline.webhooks")
    log.setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.info("receiving on http://%s:%d%s into %s", host, port, WEBHOOK_PATH, store.path)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, **options)


class ReceiverServer(BackgroundServer):
    """``with ReceiverServer(store, secret) as r: httpx.post(r.url, ...)`` on a free port."""

    name = "webhook receiver"

    def __init__(
        self,
        store: EventStore,
        secret: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body_bytes: int = MAX_BODY_BYTES,
        header_timeout_s: float = HEADER_TIMEOUT_S,
        body_timeout_s: float = BODY_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.store = store
        self._options = uvicorn_options(header_timeout_s, max_connections)
        app = create_app(
            store, secret, max_body_bytes=max_body_bytes, body_timeout_s=body_timeout_s
        )
        super().__init__(app, host, port)

    def uvicorn_options(self) -> dict[str, Any]:
        return self._options

    @property
    def url(self) -> str:
        return f"{self.base_url}{WEBHOOK_PATH}" if self.base_url else ""
