"""One partition's rows built page by page: compact Arrow chunks and a running fingerprint.

A study's pages are turned into Arrow as they arrive, so the decoded JSON (Python dicts, many
times the size of the bytes) lives for one page only; what waits for the write is the Arrow form,
about the size of the JSON the API sent. The fingerprint is hashed from the Arrow buffers on the
way, not from Python values, and does not depend on how the rows were split into pages.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from invivo_pipeline.core.rejects import Reject, record_id_of
from invivo_pipeline.warehouse.errors import RecordConversionError
from invivo_pipeline.warehouse.flatten import BatchLike, arrow_schema, flatten
from invivo_pipeline.warehouse.raw_rows import VIEW_INLINE_BYTES
from invivo_pipeline.warehouse.schema import RECORD_COLUMN, Source, SqlType, TableSpec

_ARROW_CASTS = {SqlType.DATE: pa.date32(), SqlType.TIMESTAMPTZ: pa.timestamp("us", tz="UTC")}
"""The columns DuckDB types in the INSERT (see ``loader``), and an Arrow type that reads the
usual spellings of their values: Arrow's cast is the quick test, DuckDB's the one that rules."""


class Fingerprint:
    """What a partition holds, independent of when it was loaded: records plus context keys.

    Two digests per column, one over the value lengths (-1 for null) and one over the bytes, so
    the result is the same however the rows are chunked. The bytes are hashed with XXH3 (128
    bits), which runs at memory speed: this is change detection between loads of the same
    source, not a defence against forged input, and SHA-256 cost a noticeable share of a large
    sync (docs/performance.md).
    """

    def __init__(self, spec: TableSpec) -> None:
        self.columns = [c for c in (*spec.context_keys, RECORD_COLUMN) if c in spec.column_names]
        self._lengths = {c: xxhash.xxh3_128() for c in self.columns}
        self._bytes = {c: xxhash.xxh3_128() for c in self.columns}

    def update(self, table: pa.Table) -> None:
        for column in self.columns:
            for chunk in table.column(column).chunks:
                self._update(column, chunk)

    def _update(self, column: str, chunk: pa.Array) -> None:
        if len(chunk) == 0:
            return
        if isinstance(chunk, pa.ExtensionArray):  # JSON: its text
            chunk = chunk.storage
        if chunk.type == pa.string_view():
            if _update_from_page(self._lengths[column], self._bytes[column], chunk):
                return
            chunk = chunk.cast(pa.string())
        _, offsets, data = chunk.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int32, count=chunk.offset + len(chunk) + 1)
        bounds = bounds[chunk.offset :]
        if chunk.null_count:
            lengths = pc.fill_null(pc.binary_length(chunk), -1).cast(pa.int64())
            self._lengths[column].update(lengths.to_numpy(zero_copy_only=False).tobytes())
        else:  # the lengths straight from the offsets: no Arrow call per page
            self._lengths[column].update(np.diff(bounds).astype(np.int64).tobytes())
        if data is None:
            return
        start, end = int(bounds[0]), int(bounds[-1])
        self._bytes[column].update(memoryview(data)[start:end])

    def hexdigest(self) -> str:
        digest = hashlib.sha256()
        for column in self.columns:
            digest.update(column.encode())
            digest.update(self._lengths[column].digest())
            digest.update(self._bytes[column].digest())
        return digest.hexdigest()


def _update_from_page(lengths: Any, content: Any, chunk: pa.Array) -> bool:
    """Hash string views that lie one separator apart in one buffer (a page's records, as
    ``raw_rows`` makes them) without copying them: the bytes from the first to the last, and a
    comma after them, which is the same whichever way the records were split into pages. False
    for any other layout (the caller copies the values out)."""
    if chunk.null_count or chunk.offset:
        return False
    buffers = chunk.buffers()
    if len(buffers) != 3:  # validity, views, exactly one data buffer
        return False
    views = np.frombuffer(buffers[1], dtype=np.int32, count=4 * len(chunk)).reshape(-1, 4)
    sizes, offsets = views[:, 0], views[:, 3]
    if int(sizes.min()) <= VIEW_INLINE_BYTES or (np.diff(offsets) != sizes[:-1] + 1).any():
        return False
    start, end = int(offsets[0]), int(offsets[-1]) + int(sizes[-1])
    data = memoryview(buffers[2])
    lengths.update(sizes.astype(np.int64).tobytes())
    content.update(data[start:end])
    content.update(b",")  # as if the next page's records followed in the same buffer
    return True


@dataclass(frozen=True)
class _OneRecord:
    """One record of a batch, as a batch of its own (``flatten`` takes batches)."""

    resource: str
    context: Mapping[str, str]
    records: Sequence[Any]
    raw: Sequence[Any] | None


def _without_rows(table: pa.Table, rows: Sequence[int]) -> pa.Table:
    """``table`` less ``rows`` (ascending), by slices: Arrow has no filter for string views."""
    kept, start = [], 0
    for row in [*rows, table.num_rows]:
        if row > start:
            kept.append(table.slice(start, row - start))
        start = row + 1
    return pa.concat_tables(kept) if kept else table.slice(0, 0)


def _duckdb_uncastable(values: pa.ChunkedArray, sql_type: SqlType) -> list[tuple[int, str]]:
    """``(row, value)`` of each value DuckDB's ``CAST(… AS sql_type)`` refuses."""
    rows = pa.table({"i": pa.array(range(len(values)), pa.int64()), "v": values})
    with duckdb.connect() as con:
        con.register("invivo_cast_check", rows)
        return con.execute(
            "SELECT i, v FROM invivo_cast_check "
            f"WHERE v IS NOT NULL AND TRY_CAST(v AS {sql_type}) IS NULL ORDER BY i"
        ).fetchall()


class PartitionBuilder:
    """Collects one partition (a study's rows of one table, or a global table) page by page.

    ``add`` flattens and checks the page at once. A record with a value its column cannot take is
    set aside in ``rejects`` (with the batch's own, those the API client's validation set aside),
    and the rest of the page is kept: only a page with such a record is flattened record by record.
    """

    def __init__(self, spec: TableSpec, partition_key: str | None) -> None:
        self.spec = spec
        self.partition_key = partition_key
        self._chunks: list[pa.Table] = []
        self._fingerprint = Fingerprint(spec)
        self.rows = 0
        self.flatten_seconds = 0.0
        self.rejects: list[Reject] = []

    def add(self, batch: BatchLike) -> None:
        started = time.perf_counter()
        self.rejects.extend(getattr(batch, "rejects", ()))
        try:
            table = flatten(self.spec, [batch], partition_key=self.partition_key)
        except RecordConversionError:
            table = self._record_by_record(batch)
        table = self._without_uncastable(table)
        if table.num_rows:
            self._chunks.append(table)
            self._fingerprint.update(table)
            self.rows += table.num_rows
        self.flatten_seconds += time.perf_counter() - started

    def _record_by_record(self, batch: BatchLike) -> pa.Table:
        raw = getattr(batch, "raw", None)
        kept: list[pa.Table] = []
        for at, record in enumerate(batch.records):
            sent = raw[at] if raw is not None else None
            one = _OneRecord(
                batch.resource, batch.context, [record], None if sent is None else [sent]
            )
            try:
                kept.append(flatten(self.spec, [one], partition_key=self.partition_key))
            except RecordConversionError as exc:
                text = bytes(sent) if sent is not None else orjson.dumps(record)
                self.rejects.append(Reject(text, exc.reason, record_id_of(record)))
        return pa.concat_tables(kept) if kept else arrow_schema(self.spec).empty_table()

    def _without_uncastable(self, table: pa.Table) -> pa.Table:
        """``table`` less the rows with a date or timestamp DuckDB cannot read (then rejects):
        found now, since a failed cast in the INSERT would abort the run's whole transaction."""
        bad: dict[int, str] = {}
        for column in self.spec.columns:
            target = _ARROW_CASTS.get(column.type)
            if target is None or column.source is Source.LOADED_AT or not table.num_rows:
                continue
            values = table.column(column.name)
            try:
                pc.cast(values, target)
                continue
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
            for at, value in _duckdb_uncastable(values, column.type):
                bad.setdefault(
                    at, f"{column.key or column.name}: cannot read {value!r} as {column.type}"
                )
        if not bad:
            return table
        records = table.column(RECORD_COLUMN)
        ids = table.column("id") if "id" in table.column_names else None
        for at, reason in sorted(bad.items()):
            record_id = ids[at].as_py() if ids is not None else None
            self.rejects.append(Reject(str(records[at]).encode(), reason, record_id))
        return _without_rows(table, sorted(bad))

    def table(self) -> pa.Table:
        if not self._chunks:
            return arrow_schema(self.spec).empty_table()
        return pa.concat_tables(self._chunks)

    def fingerprint(self) -> str:
        return self._fingerprint.hexdigest()

    def finished(self) -> FinishedPartition:
        """The partition as it is now, fingerprint taken: what a worker process sends back."""
        return FinishedPartition(
            self.spec, self.partition_key, self.rows, self.rejects, self.flatten_seconds,
            self.table(), self.fingerprint(),
        )  # fmt: skip


@dataclass(frozen=True)
class FinishedPartition:
    """A ``PartitionBuilder`` that takes no more pages; it pickles (Arrow and plain values), so
    a worker process can hand it to the process that writes (``LoadSession.write_partitions``)."""

    spec: TableSpec
    partition_key: str | None
    rows: int
    rejects: list[Reject]
    flatten_seconds: float
    _table: pa.Table
    _fingerprint: str

    def table(self) -> pa.Table:
        return self._table

    def fingerprint(self) -> str:
        return self._fingerprint


FilledPartition = PartitionBuilder | FinishedPartition
"""What ``LoadSession.write_partitions`` takes: a partition filled here or in a worker process."""
