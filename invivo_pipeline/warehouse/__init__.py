"""The DuckDB warehouse: raw tables generated from the resource tables it is given, loaded in
transactions by one writer at a time. Pure Python and DuckDB, and no source's names: a source
passes its resources in, and its partitions are keyed by their ``partition_key``."""

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
from invivo_pipeline.warehouse.schema import (
    Column,
    SqlType,
    TableSpec,
    ensure_schema,
    table_spec,
    table_specs,
)
from invivo_pipeline.warehouse.writer import LoadSession, TableLoad, TableLoadResult, Warehouse

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_LOCK_TIMEOUT",
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
