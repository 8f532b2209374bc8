"""What a source's client hands the warehouse: pages of records (``Batch``), and the asyncio
helpers every client's fan-out shares.

A ``Batch`` is source-neutral: a resource name, the path values its records belong to (the
partition's key among them), and the records as dicts or as the JSON bytes they arrived as.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import orjson
from typing_extensions import Buffer

from invivo_pipeline.core.errors import first_cause
from invivo_pipeline.core.rejects import Reject

T = TypeVar("T")


class Batch:
    """One page of one resource: its records, and the path values they belong to.

    A page read from the API keeps each record as the JSON bytes it arrived as (``raw``): the
    warehouse loads them from those bytes, and the dicts (``records``) are decoded only for a
    caller that asks (a parent's ids, ``list_all``). A batch made from dicts has no ``raw``.
    ``rejects`` are the page's records that failed validation: not in ``records``, kept for the
    warehouse's ``_rejected`` table.
    """

    __slots__ = ("_data", "_raw", "_records", "context", "rejects", "resource")

    def __init__(
        self,
        resource: str,
        context: dict[str, str],
        records: list[dict[str, Any]] | None = None,
        *,
        raw: Sequence[Buffer] | None = None,
        data: Buffer | None = None,
        rejects: Sequence[Reject] = (),
    ) -> None:
        """``data``, with ``raw``: the JSON array the records were split from, when it holds
        exactly them (a reader can then decode the page in one call, with no copy)."""
        if records is not None and raw is not None:
            raise ValueError("a batch holds either records or their raw JSON, not both")
        self.resource = resource
        self.context = context
        self._records = records if records is not None or raw is not None else []
        self._raw = raw
        self._data = data if raw is not None else None
        self.rejects = rejects

    @property
    def records(self) -> list[dict[str, Any]]:
        if self._records is None:
            self._records = orjson.loads(b"[" + b",".join(self._raw or ()) + b"]")
        return self._records

    @property
    def raw(self) -> Sequence[Buffer] | None:
        """Each record's JSON as the API sent it, or None for a batch made from dicts."""
        return self._raw

    @property
    def data(self) -> Buffer | None:
        """The JSON array of exactly ``raw``'s records as sent, if the batch has it."""
        return self._data

    def __len__(self) -> int:
        return len(self._raw) if self._raw is not None else len(self.records)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Batch):
            return NotImplemented
        return (self.resource, self.context, self.records) == (
            other.resource,
            other.context,
            other.records,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Batch({self.resource!r}, {self.context!r}, {len(self)} records)"


OnBatch = Callable[[Batch], None]
"""Receives each page of a scope as it arrives (pages of one listing in order)."""


async def gather(coros: Any) -> list[Any]:
    """Run concurrently; the first failure cancels the rest (TaskGroup), and is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as eg:
        raise first_cause(eg) from None
    return [t.result() for t in tasks]


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code, even if this thread has a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
