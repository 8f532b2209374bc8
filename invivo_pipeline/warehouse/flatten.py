"""API records → an Arrow table shaped like their ``invivo_raw`` table.

Python does only what DuckDB cannot: pick values out of nested dicts, replace embedded objects by
their ids, fill route placeholders from the batch context and serialise nested values with orjson.
Dates, timestamps and JSON stay strings here and are cast by DuckDB in the ``INSERT … SELECT``,
which is much faster per value than Python. Numeric strings are never converted: the exact string
the API sent is what lands in the column.

A batch that carries its records' JSON bytes (every page the API client reads) is read by
``raw_rows`` without a dict per record; the record-by-record code below is for batches of dicts and
for the pages ``raw_rows`` gives up on, where it converts lax values or names the bad one.

Every problem found here is a ``WarehouseLoadError`` raised before the database is touched; one
that is one record's own (a value its column cannot take) is a ``RecordConversionError``, which
``PartitionBuilder`` turns into a reject of that record alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from functools import cache
from typing import Any, Protocol

import msgspec
import orjson
import pyarrow as pa

from invivo_pipeline.warehouse import raw_rows
from invivo_pipeline.warehouse.errors import RecordConversionError, WarehouseLoadError
from invivo_pipeline.warehouse.quality import numeric_paths
from invivo_pipeline.warehouse.schema import Column, Source, SqlType, TableSpec

CHUNK_ROWS = 50_000
"""Rows per Arrow record batch: keeps every string buffer far below Arrow's 2 GiB offset limit."""

_ARROW_TYPES: dict[SqlType, pa.DataType] = {
    SqlType.BIGINT: pa.int64(),
    SqlType.DOUBLE: pa.float64(),
    SqlType.BOOLEAN: pa.bool_(),
}
_STRINGS = frozenset({SqlType.VARCHAR, SqlType.DATE, SqlType.TIMESTAMPTZ})
_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


class BatchLike(Protocol):
    """What the API client hands over: one resource's records and the path they were read from."""

    @property
    def resource(self) -> str: ...

    @property
    def context(self) -> Mapping[str, str]: ...

    @property
    def records(self) -> Sequence[Mapping[str, Any]]: ...


@cache
def arrow_schema(spec: TableSpec) -> pa.Schema:
    """Every column but ``_loaded_at``, which the INSERT sets once per load.

    JSON columns are Arrow's JSON extension type, which DuckDB takes as JSON without parsing
    every value again: each one is the bytes of a JSON value the API client's parser already
    read whole, or orjson's output. ``_record`` is stored as string *views*: read from a page, it
    points into the bytes the API sent rather than copying them (see ``raw_rows``).
    """
    return pa.schema(
        [pa.field(c.name, _arrow_type(c)) for c in spec.columns if c.source is not Source.LOADED_AT]
    )


def _arrow_type(column: Column) -> pa.DataType:
    if column.source is Source.RECORD:
        return pa.json_(pa.string_view())
    if column.type is SqlType.JSON:
        return pa.json_(pa.string())
    return _ARROW_TYPES.get(column.type, pa.string())


def flatten(
    spec: TableSpec, batches: Iterable[BatchLike], *, partition_key: str | None = None
) -> pa.Table:
    """One Arrow table for all ``batches``; ``partition_key`` is the partition every row must belong
    to (its value of the table's partition column)."""
    schema = arrow_schema(spec)
    columns = [c for c in spec.columns if c.source is not Source.LOADED_AT]
    chunks: list[pa.RecordBatch] = []
    for batch in batches:
        if batch.resource != spec.name:
            raise WarehouseLoadError(
                f"a {batch.resource!r} batch was passed to the {spec.name!r} load"
            )
        context = _context(spec, batch, partition_key)
        fast = _from_raw(spec, columns, batch, context)
        if fast is not None:
            chunks.extend(fast)
            continue
        records = batch.records
        for start in range(0, len(records), CHUNK_ROWS):
            chunk = _checked_records(spec, records[start : start + CHUNK_ROWS])
            arrays = [_array(spec, c, chunk, context) for c in columns]
            chunks.append(pa.RecordBatch.from_arrays(arrays, names=[c.name for c in columns]))
    return pa.Table.from_batches(checked_text(spec, chunks), schema=schema)


def checked_text(spec: TableSpec, chunks: Sequence[pa.RecordBatch]) -> list[pa.RecordBatch]:
    """``chunks`` in ``arrow_schema``: text still binary is cast to strings, which checks that it
    is UTF-8 (the JSON parsers skip what they do not decode, unchecked). Per page, on the thread
    that reads them: a writer thread waits for the GIL at every Arrow call."""
    schema = arrow_schema(spec)
    try:
        return [c if c.schema == schema else _cast(c, schema) for c in chunks]
    except pa.ArrowInvalid as exc:
        raise WarehouseLoadError(
            f"{spec.schema}.{spec.name}: the API sent text that is not UTF-8 ({exc}); "
            "nothing was loaded"
        ) from None


def _cast(chunk: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for array, field in zip(chunk.columns, schema, strict=True):
        if array.type == field.type:
            arrays.append(array)
            continue
        if array.type == pa.binary():
            array = array.cast(pa.string())  # checks the UTF-8
        if isinstance(field.type, pa.ExtensionType):  # JSON text: the same strings, typed
            storage = field.type.storage_type
            array = array if array.type == storage else array.cast(storage)
            arrays.append(pa.ExtensionArray.from_storage(field.type, array))
        else:
            arrays.append(array.cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _from_raw(
    spec: TableSpec,
    columns: Sequence[Column],
    batch: BatchLike,
    context: Mapping[str, str],
) -> list[pa.RecordBatch] | None:
    """The batch's chunks read from its records' JSON bytes, or None to go record by record."""
    raw = getattr(batch, "raw", None)
    if raw is None:
        return None
    data = getattr(batch, "data", None) if len(raw) <= CHUNK_ROWS else None
    chunks = []
    for start in range(0, len(raw), CHUNK_ROWS):
        part = raw[start : start + CHUNK_ROWS]
        try:
            arrays = raw_rows.arrays(spec, columns, part, context, data=data)
        except raw_rows.GiveUp:
            return None  # the record-by-record path converts, or names what is wrong
        except msgspec.DecodeError as exc:  # not JSON at all (the API client never passes it on)
            raise WarehouseLoadError(
                f"{spec.schema}.{spec.name}: a record is not valid JSON ({exc}); nothing was loaded"
            ) from None
        chunks.append(pa.RecordBatch.from_arrays(arrays, names=[c.name for c in columns]))
    return chunks


def _context(spec: TableSpec, batch: BatchLike, partition_key: str | None) -> dict[str, str]:
    context = {k: v for k, v in batch.context.items() if k in spec.resource.context_keys}
    partition = spec.partition_column
    if partition_key is not None and partition is not None:
        given = context.get(partition)
        if given is not None and given != partition_key:
            raise WarehouseLoadError(
                f"{spec.schema}.{spec.name}: a batch of {spec.scope} {given!r} was passed to the "
                f"load of {spec.scope} {partition_key!r}; nothing was loaded"
            )
        context[partition] = partition_key
    return context


def _checked_records(spec: TableSpec, records: Sequence[Any]) -> Sequence[Mapping[str, Any]]:
    for record in records:
        if type(record) is not dict and not isinstance(record, Mapping):
            raise WarehouseLoadError(
                f"{spec.schema}.{spec.name}: a record is a {type(record).__name__}, not an object; "
                "nothing was loaded"
            )
    return records


def _label(spec: TableSpec, record: Mapping[str, Any], context: Mapping[str, str]) -> str:
    """How an error names a record: its primary key, as far as it can be read."""
    parts = []
    for key in spec.primary_key:
        value = record.get(key, context.get(key))
        # A key column filled from an embedded object (``study_id`` from ``{"study": {"id": ...}}``).
        embedded = record.get(key.removesuffix("_id")) if key.endswith("_id") else None
        if value is None and isinstance(embedded, Mapping):
            value = embedded.get("id")
        parts.append(f"{key}={value!r}")
    return ", ".join(parts)


def _fail(
    spec: TableSpec,
    column: Column,
    record: Mapping[str, Any],
    context: Mapping[str, str],
    problem: str,
) -> RecordConversionError:
    return RecordConversionError(
        f"{spec.schema}.{spec.name}.{column.name}: {problem} (record {_label(spec, record, context)}); "
        "nothing was loaded",
        reason=f"{column.key or column.name}: {problem}",
    )


def _array(
    spec: TableSpec,
    column: Column,
    records: Sequence[Mapping[str, Any]],
    context: Mapping[str, str],
) -> pa.Array:
    values = _raw_values(spec, column, records, context)
    if column.context_key:
        values = _with_context(spec, column, records, context, values)
    if column.type is SqlType.JSON:
        array = pa.array(_json_values(spec, column, records, context, values), type=pa.string())
    else:
        array = _typed_array(spec, column, records, context, values)
    if array.null_count and column.name in spec.primary_key:
        record = records[array.is_null().index(True).as_py()]
        raise _fail(spec, column, record, context, "a primary key column is null")
    return array


def _typed_array(
    spec: TableSpec,
    column: Column,
    records: Sequence[Mapping[str, Any]],
    context: Mapping[str, str],
    values: list[Any],
) -> pa.Array:
    if column.type in _STRINGS:
        try:
            # Fast path: Arrow checks the types in C; only a failure is explained in Python.
            return pa.array(values, type=pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            pass
    converted = _CONVERTERS[column.type](spec, column, records, context, values)
    return pa.array(converted, type=_ARROW_TYPES.get(column.type, pa.string()))


def _raw_values(
    spec: TableSpec,
    column: Column,
    records: Sequence[Mapping[str, Any]],
    context: Mapping[str, str],
) -> list[Any]:
    if column.source is Source.CONTEXT:
        return [None] * len(records)
    if column.source is Source.RECORD:
        return list(records)
    if column.source is Source.REF:
        return _ref_ids(spec, column, records, context)
    key = column.key or column.name
    return [r.get(key) for r in records]


def _ref_ids(
    spec: TableSpec,
    column: Column,
    records: Sequence[Mapping[str, Any]],
    context: Mapping[str, str],
) -> list[Any]:
    """``record[x]["id"]``; a flat ``record["x_id"]`` (as embedded objects carry) is accepted too."""
    key = column.key or column.name
    ids: list[Any] = []
    for record in records:
        ref = record.get(key)
        if type(ref) is dict or (ref is not None and isinstance(ref, Mapping)):
            value = ref.get("id")
            flat = record.get(column.name)
            if flat is not None and value is not None and flat != value:
                raise _fail(
                    spec, column, record, context, f"{key}.id {value!r} disagrees with {flat!r}"
                )
        elif ref is None:
            value = record.get(column.name)
        else:
            raise _fail(spec, column, record, context, f"{key} should be an object with an id")
        if value is not None and type(value) is not str and not isinstance(value, str):
            raise _fail(spec, column, record, context, f"id {value!r} is not a string")
        ids.append(value)
    return ids


def _with_context(
    spec: TableSpec,
    column: Column,
    records: Sequence[Mapping[str, Any]],
    context: Mapping[str, str],
    values: list[Any],
) -> list[Any]:
    """The record's value, else the batch context's; both present and different is a data error."""
    fallback = context.get(column.name)
    filled = []
    for record, value in zip(records, values, strict=True):
        if value is None:
            if fallback is None:
                raise _fail(
                    spec, column, record, context, "neither the record nor the batch has it"
                )
            value = fallback
        elif fallback is not None and value != fallback:
            raise _fail(
                spec,
                column,
                record,
                context,
                f"record says {value!r} but it was read for {fallback!r}",
            )
        filled.append(value)
    return filled


def _json_values(
    spec: TableSpec,
    column: Column,
    records: Sequence[Mapping[str, Any]],
    context: Mapping[str, str],
    values: list[Any],
) -> list[bytes | None]:
    try:
        return [None if v is None else orjson.dumps(v) for v in values]
    except orjson.JSONEncodeError:
        for record, value in zip(records, values, strict=True):
            try:
                orjson.dumps(value)
            except orjson.JSONEncodeError as exc:
                raise _fail(spec, column, record, context, f"cannot serialise: {exc}") from None
        raise


def _varchar(
    spec: TableSpec,
    column: Column,
    records: Sequence[Mapping[str, Any]],
    context: Mapping[str, str],
    values: list[Any],
) -> list[Any]:
    numeric = {column.name, column.key} & _numeric_strings(spec)
    out = []
    for record, value in zip(records, values, strict=True):
        if numeric and isinstance(value, int | float) and not isinstance(value, bool):
            value = repr(value)  # a number sent where the API sends a numeric string: its text
        elif value is not None and not isinstance(value, str):
            raise _fail(
                spec, column, record, context, f"expected a string, got {type(value).__name__}"
            )
        out.append(value)
    return out


@cache
def _numeric_strings(spec: TableSpec) -> frozenset[str]:
    """The model's top-level numeric-string fields, where a JSON number is tolerated."""
    return frozenset(name for name, path in numeric_paths(spec.resource.model) if path == "")


def _temporal(
    spec: TableSpec,
    column: Column,
    records: Sequence[Mapping[str, Any]],
    context: Mapping[str, str],
    values: list[Any],
) -> list[Any]:
    """Strings pass through for DuckDB to cast; ``date``/``datetime`` objects become ISO strings."""
    out = []
    for record, value in zip(records, values, strict=True):
        if isinstance(value, date):
            value = value.isoformat()
        elif value is not None and not isinstance(value, str):
            raise _fail(
                spec, column, record, context, f"expected a {column.type} string, got {value!r}"
            )
        out.append(value)
    return out


Converter = Callable[
    [TableSpec, Column, Sequence[Mapping[str, Any]], Mapping[str, str], list[Any]], list[Any]
]
"""Turns one column's raw values into what its Arrow type takes, or fails naming the record."""


def _each(convert: Callable[[Any], Any], what: str, exact: type | None = None) -> Converter:
    """A column converter: ``convert`` each non-null value, naming the record whose value fails.

    A column whose values all are already of type ``exact`` passes through untouched.
    """

    def converter(
        spec: TableSpec,
        column: Column,
        records: Sequence[Mapping[str, Any]],
        context: Mapping[str, str],
        values: list[Any],
    ) -> list[Any]:
        if exact is not None and all(type(v) is exact or v is None for v in values):
            return values
        out = []
        for record, value in zip(records, values, strict=True):
            try:
                out.append(None if value is None else convert(value))
            except (TypeError, ValueError):
                raise _fail(spec, column, record, context, f"{value!r} is not {what}") from None
        return out

    return converter


def _as_int(value: Any) -> int:
    """What pydantic's lax mode accepts for ``int``, minus booleans."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    raise ValueError(value)


def _as_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    return float(value)


def _as_bool(value: Any) -> bool:
    """Booleans, and what pydantic's lax mode reads as one: "true"/"false"-like strings, 0 and 1."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if type(value) is int and value in (0, 1):
        return bool(value)
    raise ValueError(value)


_bigint = _each(_as_int, "an integer", exact=int)
_double = _each(_as_float, "a number")
_boolean = _each(_as_bool, "a boolean", exact=bool)


_CONVERTERS = {
    SqlType.VARCHAR: _varchar,
    SqlType.DATE: _temporal,
    SqlType.TIMESTAMPTZ: _temporal,
    SqlType.BIGINT: _bigint,
    SqlType.DOUBLE: _double,
    SqlType.BOOLEAN: _boolean,
}
