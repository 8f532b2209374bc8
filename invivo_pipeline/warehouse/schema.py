"""The ``invivo_raw`` tables, derived from the resource table and kept in step by migrations.

No table is written by hand: a resource's route placeholders and its pydantic model decide the
columns, so adding a resource or a model field is enough to grow the warehouse. Migrations only ever
add (schemas, tables, columns): analysts build on these names, so nothing is renamed or dropped
automatically, and a column whose type would have to change is reported instead of rewritten.

Primary keys are exposed here but not declared in DuckDB: replacing a study's rows deletes and
re-inserts the same keys in one transaction, which DuckDB's index handling does not support well.
Uniqueness is checked by asset checks and tests instead.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import duckdb
import orjson
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from invivo_pipeline.core.model_fields import Ref, Timestamped
from invivo_pipeline.core.resource_spec import Resource, Scope
from invivo_pipeline.warehouse.errors import WarehouseSchemaError

MIGRATIONS_TABLE = "_schema_migrations"
LOAD_STATE_TABLE = "_load_state"
"""One row per loaded partition (table, study or '' for global): a fingerprint of its content."""
REJECTED_TABLE = "_rejected"
"""Records set aside instead of loaded: one row per record, replaced with its partition."""
RECORD_COLUMN = "_record"
LOADED_AT_COLUMN = "_loaded_at"

# Audit fields read better after the resource's own fields than before its id.
_TRAILING_FIELDS = tuple(Timestamped.model_fields)


class SqlType(StrEnum):
    VARCHAR = "VARCHAR"
    BIGINT = "BIGINT"
    DOUBLE = "DOUBLE"
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"
    TIMESTAMPTZ = "TIMESTAMPTZ"
    JSON = "JSON"

    @property
    def catalog_name(self) -> str:
        """How ``information_schema.columns.data_type`` spells the type, for comparisons."""
        return "TIMESTAMP WITH TIME ZONE" if self is SqlType.TIMESTAMPTZ else self.value


class Source(StrEnum):
    """Where a column's value comes from."""

    CONTEXT = "context"
    """Only from the batch context (a route placeholder the record does not carry)."""
    FIELD = "field"
    """A top-level record value (serialised when the column is JSON)."""
    REF = "ref"
    """The ``id`` of an embedded object; a flat ``<name>_id`` key in the record is accepted too."""
    RECORD = "record"
    LOADED_AT = "loaded_at"


@dataclass(frozen=True)
class Column:
    name: str
    type: SqlType
    source: Source
    key: str | None = None
    """Record key the value is read from (the field's API name)."""
    context_key: bool = False
    """A route placeholder: falls back to the batch context, must agree with it, never null."""


@dataclass(frozen=True)
class TableSpec:
    resource: Resource
    columns: tuple[Column, ...]

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def schema(self) -> str:
        return self.resource.schema

    @property
    def qualified_name(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"

    @property
    def partition_column(self) -> str | None:
        """``study_id``/``experiment_id`` for a partitioned table; None for a global one."""
        return self.resource.scope.partition_column

    @property
    def primary_key(self) -> tuple[str, ...]:
        return self.resource.primary_key

    @property
    def scope(self) -> Scope:
        return self.resource.scope

    @property
    def context_keys(self) -> tuple[str, ...]:
        return self.resource.context_keys

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def quote(identifier: str) -> str:
    """Quote always: several API field names (``group``, ``type``, ``value``) are SQL keywords."""
    return '"' + identifier.replace('"', '""') + '"'


def _unwrap(annotation: Any) -> Any:
    """Strip ``Optional`` and ``Annotated`` so only the value's own type is left."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


_SCALARS: tuple[tuple[type, SqlType], ...] = (
    # bool before int and datetime before date: the first is a subclass of the second.
    (bool, SqlType.BOOLEAN),
    (int, SqlType.BIGINT),
    (float, SqlType.DOUBLE),
    (Decimal, SqlType.VARCHAR),
    (str, SqlType.VARCHAR),
    (datetime, SqlType.TIMESTAMPTZ),
    (date, SqlType.DATE),
)


def _column_for(field_name: str, info: FieldInfo, *, snake_case: bool = False) -> Column:
    key = info.alias or field_name
    # A model whose aliases come from a generator (Cytobank's camelCase) names its columns after
    # its snake_case fields: analysts should not have to quote "experimentName".
    name = field_name if snake_case else key
    annotation = _unwrap(info.annotation)
    if isinstance(annotation, type):
        if issubclass(annotation, Ref):
            return Column(f"{name}_id", SqlType.VARCHAR, Source.REF, key)
        if issubclass(annotation, Enum) and issubclass(annotation, str):
            return Column(name, SqlType.VARCHAR, Source.FIELD, key)
        if not issubclass(annotation, BaseModel):
            for python_type, sql_type in _SCALARS:
                if issubclass(annotation, python_type):
                    return Column(name, sql_type, Source.FIELD, key)
    if get_origin(annotation) is Literal and all(isinstance(a, str) for a in get_args(annotation)):
        return Column(name, SqlType.VARCHAR, Source.FIELD, key)
    # Nested models (Quantity, TerminatedReason), lists, dicts, Any, real unions.
    return Column(name, SqlType.JSON, Source.FIELD, key)


def _ordered_fields(model: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    items = list(model.model_fields.items())
    order = {name: i for i, (name, _) in enumerate(items)}
    return sorted(items, key=lambda kv: (kv[0] in _TRAILING_FIELDS, order[kv[0]]))


def table_spec(resource: Resource) -> TableSpec:
    """Context keys first, then one column per model field, then ``_record`` and ``_loaded_at``."""
    by_name: dict[str, Column] = {}
    snake_case = resource.model.model_config.get("alias_generator") is not None
    for field_name, info in _ordered_fields(resource.model):
        column = _column_for(field_name, info, snake_case=snake_case)
        if column.name in by_name:
            raise WarehouseSchemaError(
                f"{resource.name}: two model fields map to column {column.name!r}"
            )
        by_name[column.name] = column
    leading: list[Column] = []
    for key in resource.context_keys:
        existing = by_name.pop(key, None)
        if existing is None:
            leading.append(Column(key, SqlType.VARCHAR, Source.CONTEXT, context_key=True))
        elif existing.type is SqlType.VARCHAR:
            leading.append(replace(existing, context_key=True))
        else:
            raise WarehouseSchemaError(
                f"{resource.name}: context key {key!r} collides with a {existing.type} field"
            )
    for reserved in (RECORD_COLUMN, LOADED_AT_COLUMN):
        if reserved in by_name:
            raise WarehouseSchemaError(f"{resource.name}: field name {reserved!r} is reserved")
    spec = TableSpec(
        resource=resource,
        columns=(
            *leading,
            *by_name.values(),
            Column(RECORD_COLUMN, SqlType.JSON, Source.RECORD),
            Column(LOADED_AT_COLUMN, SqlType.TIMESTAMPTZ, Source.LOADED_AT),
        ),
    )
    missing = [k for k in spec.primary_key if k not in spec.column_names]
    if missing:
        raise WarehouseSchemaError(f"{resource.name}: primary key columns {missing} do not exist")
    partition = resource.scope.partition_column
    if partition is not None and partition not in resource.context_keys:
        raise WarehouseSchemaError(
            f"{resource.name}: a per-{resource.scope} table needs a {partition} context"
        )
    return spec


def table_specs(resources: Iterable[Resource]) -> dict[str, TableSpec]:
    return {r.name: table_spec(r) for r in resources}


def column_sql(column: Column) -> str:
    """A column's definition. JSON (``_record`` above all) is stored with zstd: DuckDB's default
    analysis tries every light-weight scheme on these long texts, which made committing a load
    cost several times the load itself, and the file came out several times larger
    (docs/performance.md)."""
    definition = f"{quote(column.name)} {column.type}"
    return definition + " USING COMPRESSION zstd" if column.type is SqlType.JSON else definition


def create_table_sql(spec: TableSpec) -> str:
    columns = ",\n".join(f"    {column_sql(c)}" for c in spec.columns)
    return f"CREATE TABLE IF NOT EXISTS {spec.qualified_name} (\n{columns}\n)"


def fingerprint(specs: Iterable[TableSpec]) -> str:
    """Short hash of every table's columns: which shape a migration brought the file to."""
    shape = sorted((s.name, [(c.name, c.type.value) for c in s.columns]) for s in specs)
    return hashlib.sha256(orjson.dumps(shape)).hexdigest()[:16]


_MIGRATIONS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {{schema}}.{quote(MIGRATIONS_TABLE)} (\n"
    "    version INTEGER,\n"
    "    fingerprint VARCHAR,\n"
    "    applied_at TIMESTAMPTZ DEFAULT current_timestamp,\n"
    "    statements JSON\n"
    ")"
)

_LOAD_STATE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {{schema}}.{quote(LOAD_STATE_TABLE)} (\n"
    "    table_name VARCHAR,\n"
    "    partition_key VARCHAR,\n"
    "    fingerprint VARCHAR,\n"
    "    rows BIGINT,\n"
    "    loaded_at TIMESTAMPTZ,\n"
    "    PRIMARY KEY (table_name, partition_key)\n"
    ")"
)


_REJECTED_DDL = (
    f"CREATE TABLE IF NOT EXISTS {{schema}}.{quote(REJECTED_TABLE)} (\n"
    "    table_name VARCHAR,\n"
    "    partition_key VARCHAR,\n"
    "    record_id VARCHAR,\n"
    "    record VARCHAR,\n"
    "    reason VARCHAR,\n"
    "    run_id VARCHAR,\n"
    "    first_seen TIMESTAMPTZ,\n"
    "    last_seen TIMESTAMPTZ\n"
    ")"
)
"""``partition_key`` is the study (or experiment) id, NULL for a global table; ``record`` is the
record's JSON as the API sent it; ``reason`` names the field and the value."""


def plan_migration(
    specs: Iterable[TableSpec],
    existing: Mapping[str, Mapping[str, str]],
    *,
    schema_exists: bool,
    schema: str,
) -> list[str]:
    """Statements that bring ``existing`` (table → column → catalog type) of ``schema`` up to
    ``specs``."""
    statements: list[str] = []
    if not schema_exists:
        statements.append(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    if MIGRATIONS_TABLE not in existing:
        statements.append(_MIGRATIONS_DDL.format(schema=quote(schema)))
    if LOAD_STATE_TABLE not in existing:
        statements.append(_LOAD_STATE_DDL.format(schema=quote(schema)))
    if REJECTED_TABLE not in existing:
        statements.append(_REJECTED_DDL.format(schema=quote(schema)))
    conflicts: list[str] = []
    for spec in specs:
        current = {name.lower(): t for name, t in existing.get(spec.name, {}).items()}
        if spec.name not in existing:
            statements.append(create_table_sql(spec))
            continue
        for column in spec.columns:
            found = current.get(column.name.lower())
            if found is None:
                statements.append(
                    f"ALTER TABLE {spec.qualified_name} ADD COLUMN {column_sql(column)}"
                )
            elif found != column.type.catalog_name:
                conflicts.append(f"{spec.name}.{column.name} is {found}, expected {column.type}")
    if conflicts:
        raise WarehouseSchemaError(
            f"{schema} needs a hand-written migration: " + "; ".join(conflicts)
        )
    return statements


def _existing_columns(
    con: duckdb.DuckDBPyConnection, schema: str
) -> tuple[bool, dict[str, dict[str, str]]]:
    # fetchall, not fetchone: DuckDB 2 refuses other work on a connection with an unfinished result.
    schema_exists = bool(
        con.execute(
            "SELECT schema_name FROM information_schema.schemata "
            "WHERE catalog_name = current_database() AND schema_name = ?",
            [schema],
        ).fetchall()
    )
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? "
        "ORDER BY table_name, ordinal_position",
        [schema],
    ).fetchall()
    existing: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        existing.setdefault(table, {})[column] = data_type
    return schema_exists, existing


def ensure_schema(con: duckdb.DuckDBPyConnection, resources: Sequence[Resource]) -> list[str]:
    """Create or extend the resources' schemas in one transaction; returns the statements it ran.

    Running it again runs nothing and records nothing; each run that changed a schema adds one
    row to that schema's ``_schema_migrations`` (``invivo_raw._schema_migrations``, ...) with the
    next version number.
    """
    by_schema: dict[str, list[TableSpec]] = {}
    for spec in table_specs(resources).values():
        by_schema.setdefault(spec.schema, []).append(spec)
    ran: list[str] = []
    con.begin()
    try:
        for schema, specs in by_schema.items():
            schema_exists, existing = _existing_columns(con, schema)
            statements = plan_migration(specs, existing, schema_exists=schema_exists, schema=schema)
            if not statements:
                continue
            for statement in statements:
                con.execute(statement)
            migrations = f"{quote(schema)}.{quote(MIGRATIONS_TABLE)}"
            version = _max_version(con, schema) + 1
            con.execute(
                f"INSERT INTO {migrations} (version, fingerprint, statements) VALUES (?, ?, ?)",
                [version, fingerprint(specs), orjson.dumps(statements).decode()],
            )
            ran.extend(statements)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return ran


def _max_version(con: duckdb.DuckDBPyConnection, schema: str) -> int:
    rows = con.execute(
        f"SELECT coalesce(max(version), 0) FROM {quote(schema)}.{quote(MIGRATIONS_TABLE)}"
    ).fetchall()
    return int(rows[0][0]) if rows else 0


def schema_version(con: duckdb.DuckDBPyConnection, schema: str) -> int:
    """Number of migrations applied to ``schema`` in this file (0 for one never migrated)."""
    _, existing = _existing_columns(con, schema)
    return _max_version(con, schema) if MIGRATIONS_TABLE in existing else 0
