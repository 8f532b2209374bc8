"""The DuckDB warehouse: ``invivo_raw`` tables generated from the resource table, loaded in
transactions by one writer at a time. Pure Python and DuckDB; the Dagster layer wraps it."""

from invivo_pipeline.warehouse.duckdb_file import (
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_LOCK_TIMEOUT,
    default_duckdb_path,
    lock_path,
    writer_lock,
)
from invivo_pipeline.warehouse.errors import (
    WarehouseError,
    WarehouseLoadError,
    WarehouseLockedError,
    WarehouseSchemaError,
)
from invivo_pipeline.warehouse.flatten import BatchLike
from invivo_pipeline.warehouse.loader import LoadSession, TableLoad, TableLoadResult, Warehouse
from invivo_pipeline.warehouse.schema import (
    SCHEMA,
    Column,
    SqlType,
    TableSpec,
    ensure_schema,
    table_spec,
    table_specs,
)

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_LOCK_TIMEOUT",
    "SCHEMA",
    "BatchLike",
    "Column",
    "LoadSession",
    "SqlType",
    "TableLoad",
    "TableLoadResult",
    "TableSpec",
    "Warehouse",
    "WarehouseError",
    "WarehouseLoadError",
    "WarehouseLockedError",
    "WarehouseSchemaError",
    "default_duckdb_path",
    "ensure_schema",
    "lock_path",
    "table_spec",
    "table_specs",
    "writer_lock",
]
