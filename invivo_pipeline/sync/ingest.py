"""One ingestion run: fetch the selected partitions through the client, load them in one session.

Studies are fetched a few at a time and each is written as soon as it has arrived, so memory holds
only the studies in flight; the session's single transaction means a run that fails or is killed
half-way leaves the warehouse exactly as it was before the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from invivo_pipeline.client import Batch, InVivoClient
from invivo_pipeline.resource_table import RESOURCES, Scope
from invivo_pipeline.warehouse import LoadSession, TableLoad, TableLoadResult
from invivo_pipeline.warehouse.quality import CheckOutcome

GLOBAL_NAMES = tuple(r.name for r in RESOURCES if r.scope is Scope.GLOBAL)
STUDY_NAMES = tuple(r.name for r in RESOURCES if r.scope is Scope.STUDY)
DEFAULT_STUDIES_IN_FLIGHT = 4

OnPartition = Callable[[str | None, list[TableLoadResult]], None]
"""Called after each partition is written: ``(study_id or None for the globals, results)``."""


@dataclass
class IngestRun:
    """What a run loaded, and what it cost."""

    loads: list[TableLoadResult] = field(default_factory=list)
    purged: dict[str, int] = field(default_factory=dict)
    """Rows deleted because their study is no longer listed by the API, per table."""
    seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)

    def rows_written(self, table: str) -> int:
        return sum(r.rows_written for r in self.loads if r.table == table)

    def partitions(self, table: str) -> list[TableLoadResult]:
        return [r for r in self.loads if r.table == table]


def table_loads(
    batches: Sequence[Batch], names: Collection[str], study_id: str | None
) -> list[TableLoad]:
    """One load per selected table, an empty one included: a resource that vanished is emptied."""
    grouped: dict[str, list[Batch]] = {name: [] for name in names}
    for batch in batches:
        grouped.setdefault(batch.resource, []).append(batch)
    return [TableLoad(name, grouped[name], study_id) for name in names]


async def ingest(
    client: InVivoClient,
    session: LoadSession,
    *,
    global_names: Collection[str] = (),
    study_ids: Sequence[str] = (),
    study_names: Collection[str] = (),
    studies_in_flight: int = DEFAULT_STUDIES_IN_FLIGHT,
    on_partition: OnPartition | None = None,
) -> IngestRun:
    """Fetch and load the global tables in ``global_names`` and, for every study, ``study_names``."""
    started = time.perf_counter()
    run = IngestRun()
    # One writer at a time on the session's connection; the flatten + write runs in a thread so
    # that network waits of other partitions go on meanwhile.
    write_lock = asyncio.Lock()
    slots = asyncio.Semaphore(max(1, studies_in_flight))
    global_names = [n for n in GLOBAL_NAMES if n in set(global_names)]
    study_names = [n for n in STUDY_NAMES if n in set(study_names)]

    async def write(batches: list[Batch], names: Sequence[str], study_id: str | None) -> None:
        loads = table_loads(batches, names, study_id)
        async with write_lock:
            results = await asyncio.to_thread(session.load_many, loads)
        run.loads.extend(results)
        if on_partition is not None:
            on_partition(study_id, results)

    async def load_globals() -> None:
        batches = await client.fetch_global(global_names)
        await write(batches, global_names, None)
        if "studies" in global_names:
            listed = [r["id"] for b in batches if b.resource == "studies" for r in b.records]
            async with write_lock:
                run.purged = await asyncio.to_thread(session.purge_studies_except, listed)

    async def load_study(study_id: str) -> None:
        # The slot is held until the study is written, so memory never holds more than
        # ``studies_in_flight`` studies even when writing is the slower side.
        async with slots:
            batches = await client.fetch_study(study_id, study_names)
            await write(batches, study_names, study_id)

    async with asyncio.TaskGroup() as group:
        if global_names:
            group.create_task(load_globals())
        if study_names:
            for study_id in study_ids:
                group.create_task(load_study(study_id))
    run.seconds = time.perf_counter() - started
    run.metrics = client.metrics.snapshot()
    return run
