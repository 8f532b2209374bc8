"""The warehouse as a Dagster resource: thin configuration around the pure ``Warehouse``."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
from pydantic import Field

from invivo_pipeline.core.resource_spec import Resource
from invivo_pipeline.warehouse import Warehouse, catalog, default_duckdb_path


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file: ``path``, else INVIVO_DUCKDB_PATH, else data/invivo.duckdb."""

    path: str | None = None
    lock_timeout_s: float = Field(
        default=600.0, description="How long a writer waits for another writer before failing"
    )

    def warehouse(self, resources: Sequence[Resource] = ()) -> Warehouse:
        """The file, writing ``resources``' tables; every registered source's tables exist in it
        (``warehouse.catalog``), since dbt reads them all."""
        return Warehouse(
            self.path or default_duckdb_path(),
            lock_timeout=self.lock_timeout_s,
            resources=resources,
            ensure_also=catalog.registered(),
        )
