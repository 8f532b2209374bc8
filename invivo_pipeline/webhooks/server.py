"""Running the receiver: ``invivo webhooks serve`` in the foreground, or in a thread for tests.

Configuration, all from the environment so that the secret never appears on a command line:

- ``INVIVO_WEBHOOK_SECRET`` (required): the shared secret senders put in
  ``X-Invivo-Webhook-Secret``;
- ``INVIVO_WEBHOOK_DB``: the SQLite event store (default ``data/webhook_events.sqlite``), which the
  Dagster sensor reads with the same variable;
- ``INVIVO_WEBHOOK_MAX_BYTES``: the largest body accepted (default 1 MiB).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import uvicorn

from invivo_pipeline.background_server import BackgroundServer
from invivo_pipeline.env_settings import positive_int
from invivo_pipeline.webhooks.app import MAX_BODY_BYTES, WEBHOOK_PATH, create_app
from invivo_pipeline.webhooks.store import EventStore, webhook_db_path

SECRET_ENV = "INVIVO_WEBHOOK_SECRET"
MAX_BYTES_ENV = "INVIVO_WEBHOOK_MAX_BYTES"


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
    store = EventStore(db or webhook_db_path(env))
    app = create_app(
        store,
        secret,
        max_body_bytes=positive_int(env, MAX_BYTES_ENV, MAX_BODY_BYTES, ReceiverConfigError),
    )
    log = logging.getLogger("invivo_pipeline.webhooks")
    log.setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.info("receiving on http://%s:%d%s into %s", host, port, WEBHOOK_PATH, store.path)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


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
    ) -> None:
        self.store = store
        super().__init__(create_app(store, secret, max_body_bytes=max_body_bytes), host, port)

    @property
    def url(self) -> str:
        return f"{self.base_url}{WEBHOOK_PATH}" if self.base_url else ""
