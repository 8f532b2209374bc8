"""The few reads of the raw tables the rest of the product needs: row counts, a table's rows or
its schema as stored, each on a short-lived read-only connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from invivo_pipeline.warehouse import schema
from invivo_pipeline.warehouse.duckdb_file import existing_tables, open_reader, table_columns
from invivo_pipeline.warehouse.errors import WarehouseError
from invivo_pipeline.warehouse.schema import SqlType, TableSpec, quote


class WarehouseReader:
    """Reads of the tables in ``specs``, in the file at ``path``."""

    path: Path
    busy_timeout: float
    specs: dict[str, TableSpec]

    def _spec(self, name: str) -> TableSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(self.specs)}") from None

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-only connection (raises ``WarehouseError`` if nothing was loaded)."""
        with open_reader(self.path, busy_timeout=self.busy_timeout) as con:
            yield con

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(self.specs)

    def primary_key(self, name: str) -> tuple[str, ...]:
        return self._spec(name).primary_key

    def schema_version(self) -> int:
        if not self.path.exists():
            return 0
        with self.reader() as con:
            return schema.schema_version(con, next(iter(self.specs.values())).schema)

    def row_counts(self) -> dict[str, int]:
        """Rows per table; a table (or file) not created yet counts 0."""
        counts = dict.fromkeys(self.specs, 0)
        if not self.path.exists():
            return counts
        with self.reader() as con:
            existing = existing_tables(con, {s.schema for s in self.specs.values()})
            present = [s for s in self.specs.values() if (s.schema, s.name) in existing]
            if present:
                query = " UNION ALL ".join(
                    f"SELECT '{s.name}', count(*) FROM {s.qualified_name}" for s in present
                )
                counts.update({name: int(n) for name, n in con.execute(query).fetchall()})
        return counts

    def table_schema(self, name: str) -> list[tuple[str, str]]:
        """``(column, type)`` of a table as it is in the file, types spelled as in the contract."""
        spec = self._spec(name)
        with self.reader() as con:
            rows = table_columns(con, spec.schema, name)
        if not rows:
            raise WarehouseError(f"{spec.schema}.{name} does not exist in {self.path} yet")
        spelled = {t.catalog_name: t.value for t in SqlType}
        return [(column, spelled.get(data_type, data_type)) for column, data_type in rows]

    def fetch_arrow(self, name: str, *, partition_key: str | None = None) -> pa.Table:
        """A table (or one partition's rows of it), ordered by primary key."""
        query, params = self._select(name, partition_key)
        with self.reader() as con:
            return con.sql(query, params=params).to_arrow_table()

    def fetch_table(self, name: str, *, partition_key: str | None = None) -> list[dict[str, Any]]:
        """Rows as dicts (JSON columns as strings), ordered by primary key."""
        query, params = self._select(name, partition_key)
        with self.reader() as con:
            cursor = con.execute(query, params)
            columns = [d[0] for d in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def _select(self, name: str, partition_key: str | None) -> tuple[str, list[Any]]:
        spec = self._spec(name)
        where, params = ("", [])
        partition = spec.partition_column
        if partition_key is not None and partition is None:
            raise ValueError(f"{name} is a global table: it has no partitions")
        if partition_key is not None:
            where, params = f" WHERE {quote(partition)} = ?", [partition_key]
        order = ", ".join(quote(k) for k in spec.primary_key)
        return f"SELECT * FROM {spec.qualified_name}{where} ORDER BY {order}", params
