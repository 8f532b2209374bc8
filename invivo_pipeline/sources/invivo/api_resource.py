"""The In Vivo API as a Dagster resource: thin configuration around the pure client's config."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from invivo_pipeline.sources.invivo.config import ClientConfig


class InVivoApiResource(dg.ConfigurableResource):
    """The In Vivo API. Give the secret as ``EnvVar("INVIVO_CLIENT_SECRET")`` so that Dagster shows
    the variable's name, never its value.

    Only what is set here overrides the environment; everything else (page size, timeouts,
    retries, the request budget…) is read by ``ClientConfig.from_env``, the one reader every entry
    point shares, so a run under Dagster obeys the same ``INVIVO_*`` variables as ``invivo doctor``.
    """

    base_url: str = Field(description="Tenant URL, e.g. https://tenant.benchling.com")
    client_id: str
    client_secret: str
    api_version: str | None = Field(
        default=None, description="X-Studies-Api-Version; else INVIVO_API_VERSION"
    )
    requests_per_minute: float | None = Field(
        default=None, description="Client-side limit; else INVIVO_REQUESTS_PER_MINUTE; else none"
    )
    concurrency: int | None = Field(
        default=None, description="Requests in flight at most; else INVIVO_CONCURRENCY"
    )

    def client_config(self) -> ClientConfig:
        # Read at run time, not at import time, so one code location serves every deployment.
        given = {
            "base_url": self.base_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "api_version": self.api_version,
            "requests_per_minute": self.requests_per_minute,
            "concurrency": self.concurrency,
        }
        return ClientConfig.from_env(
            os.environ, **{name: value for name, value in given.items() if value is not None}
        )
