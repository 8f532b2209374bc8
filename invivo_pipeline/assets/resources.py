"""Dagster resources: thin configuration around the pure client and warehouse."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from invivo_pipeline.client import ClientConfig
from invivo_pipeline.client.config import shared_budget_path_from_env
from invivo_pipeline.resource_table import DEFAULT_API_VERSION
from invivo_pipeline.warehouse import Warehouse, default_duckdb_path


class InVivoApiResource(dg.ConfigurableResource):
    """The In Vivo API. Give the secret as ``EnvVar("INVIVO_CLIENT_SECRET")`` so that Dagster shows
    the variable's name, never its value."""

    base_url: str = Field(description="Tenant URL, e.g. https://tenant.benchling.com")
    client_id: str
    client_secret: str
    api_version: str | None = Field(
        default=None,
        description=f"X-Studies-Api-Version; else INVIVO_API_VERSION or {DEFAULT_API_VERSION}",
    )
    requests_per_minute: float | None = Field(
        default=None, description="Client-side limit; else INVIVO_REQUESTS_PER_MINUTE; else none"
    )
    concurrency: int | None = Field(default=None, description="Requests in flight at most")

    def client_config(self) -> ClientConfig:
        # Optional settings fall back to the environment at run time, not at import time, so
        # one code location serves every deployment.
        env = os.environ
        rpm = self.requests_per_minute
        if rpm is None and env.get("INVIVO_REQUESTS_PER_MINUTE"):
            rpm = float(env["INVIVO_REQUESTS_PER_MINUTE"])
        optional = {
            "requests_per_minute": rpm,
            "shared_budget_path": shared_budget_path_from_env(env),
            "concurrency": self.concurrency
            or (int(env["INVIVO_CONCURRENCY"]) if env.get("INVIVO_CONCURRENCY") else None),
        }
        return ClientConfig(
            base_url=self.base_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            api_version=self.api_version or env.get("INVIVO_API_VERSION") or DEFAULT_API_VERSION,
            **{k: v for k, v in optional.items() if v is not None},
        )


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file: ``path``, else INVIVO_DUCKDB_PATH, else data/invivo.duckdb."""

    path: str | None = None
    lock_timeout_s: float = Field(
        default=600.0, description="How long a writer waits for another writer before failing"
    )

    def warehouse(self) -> Warehouse:
        return Warehouse(self.path or default_duckdb_path(), lock_timeout=self.lock_timeout_s)
