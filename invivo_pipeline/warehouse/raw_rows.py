"""Arrow columns straight from the records' JSON bytes, for pages the API client did not decode.

msgspec reads each page once into a small ``Struct`` per record that holds only the table's
columns (everything else is skipped in C), and ``_record`` and the JSON columns are the very bytes
the API sent, so no Python dict and no re-serialisation happens per record. This is the fast path
of ``flatten``: it accepts exactly the values that need no conversion (a string for VARCHAR, an
integer for BIGINT, ...). Anything else (a "12" for a BIGINT, an id that disagrees with the batch
context, a null primary key) makes it give up on the page, and ``flatten``'s record-by-record path
then converts the page or names the record that is wrong, exactly as for decoded records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from invivo_pipeline.warehouse.schema import Column, Source, SqlType, TableSpec

_NULL = msgspec.Raw(b"null")


class _RefTwin(msgspec.Struct, forbid_unknown_fields=False, gc=False):
    """An embedded object, of which only the id is read."""

    id: str | None = None


_FIELD_TYPES: dict[SqlType, Any] = {
    SqlType.VARCHAR: str | None,
    SqlType.DATE: str | None,
    SqlType.TIMESTAMPTZ: str | None,
    SqlType.BIGINT: int | None,
    SqlType.DOUBLE: float | None,
    SqlType.BOOLEAN: bool | None,
    SqlType.JSON: msgspec.Raw,
}
_ARROW_TYPES: dict[SqlType, pa.DataType] = {
    SqlType.BIGINT: pa.int64(),
    SqlType.DOUBLE: pa.float64(),
    SqlType.BOOLEAN: pa.bool_(),
}


class GiveUp(Exception):
    """The page needs the record-by-record path (to convert a value, or to name an error)."""


@dataclass(frozen=True)
class _Plan:
    decoder: msgspec.json.Decoder[Any]
    """Decodes one row per line (``decode_lines``): joining records with newlines is one copy."""
    page_decoder: msgspec.json.Decoder[list[Any]]
    """Decodes a JSON array of rows: a page as sent, no copy."""
    attribute: dict[str, str]
    """Record key → attribute of the decoded ``Struct``."""


@cache
def _plan(spec: TableSpec) -> _Plan | None:
    """The decoder of one table's rows; None if two columns read one key in different ways."""
    wanted: dict[str, Any] = {}
    for column in spec.columns:
        for key, kind in _keys(column):
            if wanted.setdefault(key, kind) != kind:
                return None
    attribute = {key: f"f{i}" for i, key in enumerate(wanted)}
    # A missing JSON value reads as a JSON null, so a JSON column is all Raw (see _json_array).
    fields = [
        (attribute[key], kind, _NULL if kind is msgspec.Raw else None)
        for key, kind in wanted.items()
    ]
    row = msgspec.defstruct(
        f"Row_{spec.schema}_{spec.name}",
        fields,
        kw_only=True,
        forbid_unknown_fields=False,
        gc=False,  # decoded JSON holds no cycles; untracked rows spare the collector
        rename={attribute[key]: key for key in wanted},
    )
    return _Plan(msgspec.json.Decoder(row), msgspec.json.Decoder(list[row]), attribute)  # type: ignore[valid-type]


def _keys(column: Column) -> list[tuple[str, Any]]:
    key = column.key or column.name
    if column.source is Source.FIELD:
        return [(key, _FIELD_TYPES[column.type])]
    if column.source is Source.REF:
        return [(key, _RefTwin | None), (column.name, str | None)]
    return []


def arrays(
    spec: TableSpec,
    columns: Sequence[Column],
    raw: Sequence[Any],
    context: Mapping[str, str],
    *,
    data: Any = None,
) -> list[pa.Array]:
    """One Arrow array per column of ``columns`` for the records in ``raw`` (their JSON bytes);
    ``data`` is the JSON array of exactly those records, if at hand.

    Text columns come out as strings when ``data`` was checked to be UTF-8 (once for the page),
    else as binary for ``flatten`` to check. Raises ``GiveUp`` when a value needs converting or
    is wrong.
    """
    plan = _plan(spec)
    if plan is None:
        raise GiveUp
    try:
        if data is not None:
            rows = plan.page_decoder.decode(data)
        else:
            rows = plan.decoder.decode_lines(b"\n".join(raw))
    except msgspec.ValidationError:
        raise GiveUp from None
    page = _PageText.of(raw, data)
    out = []
    for column in columns:
        array = _array(plan, column, rows, raw, context, page)
        if array.null_count and column.name in spec.primary_key:
            raise GiveUp
        out.append(array)
    return out


@dataclass(frozen=True)
class _PageText:
    """What is known of a page's text: whether it is UTF-8 (checked once for the whole page, so
    every slice of it is too), and its buffer when the records lie in it one comma apart."""

    text_type: pa.DataType
    """``string`` for a page checked to be UTF-8, ``binary`` for text still to be checked."""
    buffer: pa.Buffer | None = None
    lengths: Any = None

    @classmethod
    def of(cls, raw: Sequence[Any], data: Any) -> _PageText:
        if data is None:
            return cls(pa.binary())
        buffer = pa.py_buffer(data)
        try:
            _one_value(buffer).cast(pa.string())
        except pa.ArrowInvalid:
            return cls(pa.binary())  # flatten names the problem
        lengths = _lengths(raw)
        # "[" + the records + a comma between each two + "]": no byte is left for whitespace,
        # so record i starts one byte after record i-1 ends.
        compact = len(raw) > 0 and len(buffer) == 1 + int(lengths.sum(dtype=np.int64)) + len(raw)
        return cls(pa.string(), buffer if compact else None, lengths)

    def records(self, raw: Sequence[Any]) -> pa.Array:
        """``_record``: views into the page's own buffer when its records lie one comma apart
        (no copy of a page's bytes), else the records copied into one buffer."""
        if self.buffer is None or int(self.lengths.min()) <= VIEW_INLINE_BYTES:
            return _text_array(raw, self.text_type, self.lengths)
        lengths = self.lengths
        starts = np.empty(len(lengths), dtype=np.int32)
        starts[0] = 1
        np.cumsum(lengths[:-1] + 1, out=starts[1:])
        starts[1:] += 1
        # A view of a value longer than 12 bytes: length, its first 4 bytes, buffer 0, offset.
        views = np.zeros((len(lengths), 4), dtype=np.int32)
        views[:, 0] = lengths
        page = np.frombuffer(self.buffer, dtype=np.uint8)
        views.view(np.uint8)[:, 4:8] = page[starts[:, None] + np.arange(4)]
        views[:, 3] = starts
        return pa.Array.from_buffers(
            pa.string_view(), len(lengths), [None, pa.py_buffer(views), self.buffer]
        )


VIEW_INLINE_BYTES = 12
"""A string view holds a value of at most this many bytes itself, not as an offset."""


def _one_value(buffer: pa.Buffer) -> pa.Array:
    offsets = np.array([0, len(buffer)], dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), 1, [None, pa.py_buffer(offsets), buffer])


def _array(
    plan: _Plan,
    column: Column,
    rows: list[Any],
    raw: Sequence[Any],
    context: Mapping[str, str],
    page: _PageText,
) -> pa.Array:
    if column.source is Source.RECORD:
        return page.records(raw)
    if column.source is Source.CONTEXT:
        values: list[Any] = [None] * len(rows)
    elif column.source is Source.REF:
        values = _ref_ids(plan, column, rows)
    else:
        values = list(map(attrgetter(plan.attribute[column.key or column.name]), rows))
    if column.context_key:
        values = _with_context(values, context.get(column.name))
    if column.type is SqlType.JSON:
        return _json_array(values, page.text_type)
    return pa.array(values, type=_ARROW_TYPES.get(column.type, pa.string()))


def _ref_ids(plan: _Plan, column: Column, rows: list[Any]) -> list[Any]:
    refs = list(map(attrgetter(plan.attribute[column.key or column.name]), rows))
    flats = list(map(attrgetter(plan.attribute[column.name]), rows))
    if flats.count(None) == len(flats):  # the usual page: no record also has a flat ``x_id``
        return [None if ref is None else ref.id for ref in refs]
    ids = []
    for ref, flat in zip(refs, flats, strict=True):
        if ref is None:
            ids.append(flat)
            continue
        if flat is not None and ref.id is not None and flat != ref.id:
            raise GiveUp
        ids.append(ref.id)
    return ids


def _with_context(values: list[Any], fallback: str | None) -> list[Any]:
    """The record's value, else the batch context's; missing from both, or different, gives up."""
    if fallback is None:
        if None in values:
            raise GiveUp
        return values
    if set(values) - {None, fallback}:
        raise GiveUp
    return [fallback] * len(values)


def _json_array(values: list[Any], text_type: pa.DataType) -> pa.Array:
    """JSON text as sent; a JSON ``null`` (or a missing key) is SQL NULL, as in the slow path.

    The nulls are found by Arrow over the whole column, not by a Python test per value.
    """
    lengths = _lengths(values)
    array = _text_array(values, text_type, lengths)
    if not (lengths == len(_NULL)).any():  # no value is as short as a null: none is one
        return array
    nulls = pc.equal(array, pa.scalar(b"null" if text_type == pa.binary() else "null", text_type))
    return pc.if_else(nulls, pa.scalar(None, text_type), array)


def _lengths(values: Sequence[Any]) -> Any:
    return np.fromiter(map(len, values), dtype=np.int32, count=len(values))


def _text_array(values: Sequence[Any], text_type: pa.DataType, lengths: Any = None) -> pa.Array:
    """Byte strings as one array, built from one buffer (no Python object per value).

    ``binary`` unless the page was checked to be UTF-8: ``flatten`` checks the rest.
    """
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(_lengths(values) if lengths is None else lengths, out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(values))]
    return pa.Array.from_buffers(text_type, len(values), buffers)
