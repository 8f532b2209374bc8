"""Shared helpers of the client tests: a config for the stub, and a way to run a client call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline_tests.support.stub_api import CLIENT_ID, CLIENT_SECRET, StubServer

T = TypeVar("T")

FAST_RETRIES = {"backoff_base_s": 0.01, "backoff_max_s": 0.05}


def config_for(server: StubServer | str, **overrides: Any) -> ClientConfig:
    url = server if isinstance(server, str) else server.url
    values: dict[str, Any] = {
        "base_url": url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **FAST_RETRIES,
    }
    values.update(overrides)
    return ClientConfig(**values)


def run_client(
    server: StubServer | str,
    call: Callable[[InVivoClient], Awaitable[T]],
    client_kwargs: dict[str, Any] | None = None,
    **overrides: Any,
) -> tuple[T, InVivoClient]:
    """Run ``call(client)`` in a fresh event loop; return its result and the (closed) client."""

    async def go() -> tuple[T, InVivoClient]:
        async with InVivoClient(config_for(server, **overrides), **(client_kwargs or {})) as c:
            return await call(c), c

    return asyncio.run(go())


def records(prefix: str, n: int, **fields: Any) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}_{i:05d}", "name": f"{prefix} {i}", **fields} for i in range(n)]
