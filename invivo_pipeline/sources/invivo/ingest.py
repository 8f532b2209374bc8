"""One ingestion run: fetch the selected partitions through the client, load them in one session.

Pages are turned into Arrow as they arrive (``PartitionBuilder``), so decoded JSON lives for one
page only. Finished studies wait in a small queue and are written several at a time (one DELETE and
one INSERT per table for all of them), so memory holds at most the studies in flight plus about
``flush_rows`` rows, whatever the size of the tenant. The session's single transaction means a run
that fails or is killed half-way leaves the warehouse exactly as it was before the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Sequence

from invivo_pipeline.core.batches import Batch
from invivo_pipeline.core.errors import first_cause
from invivo_pipeline.core.resource_spec import Scope
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.study_processes import (
    StudyJob,
    StudyProcesses,
    StudyWorkers,
    calls_in_flight,
    chunks,
    studies_per_call,
)
from invivo_pipeline.sources.invivo.table import RESOURCES, STUDY
from invivo_pipeline.warehouse import LoadSession
from invivo_pipeline.warehouse.ingest_run import IngestRun, OnPartition, fewer_gc_passes
from invivo_pipeline.warehouse.partition_rows import FilledPartition, PartitionBuilder

GLOBAL_NAMES = tuple(r.name for r in RESOURCES if r.scope is Scope.GLOBAL)
STUDY_NAMES = tuple(r.name for r in RESOURCES if r.scope is STUDY)
DEFAULT_STUDIES_IN_FLIGHT = 4
DEFAULT_FLUSH_ROWS = 10_000
"""Rows of finished studies written together: fewer statements, yet a bounded queue."""


async def ingest(
    client: InVivoClient,
    session: LoadSession,
    *,
    global_names: Collection[str] = (),
    study_ids: Sequence[str] = (),
    study_names: Collection[str] = (),
    studies_in_flight: int = DEFAULT_STUDIES_IN_FLIGHT,
    flush_rows: int = DEFAULT_FLUSH_ROWS,
    on_partition: OnPartition | None = None,
    processes: StudyProcesses | None = None,
) -> IngestRun:
    """Fetch and load the global tables in ``global_names`` and, for every study, ``study_names``.

    The studies go to worker processes (``study_processes``) where ``processes`` says so, else
    where the client's config does; otherwise they are fetched in this process.
    """
    if processes is None and study_names:
        processes = StudyProcesses.for_run(client, len(study_ids))
    workers = StudyWorkers(processes, client) if processes and study_names else None
    try:
        with fewer_gc_passes():
            return await _ingest(
                client, session, global_names, study_ids, study_names, studies_in_flight,
                flush_rows, on_partition, workers,
            )  # fmt: skip
    finally:
        if workers is not None:
            workers.close()


async def _ingest(
    client: InVivoClient,
    session: LoadSession,
    global_names: Collection[str],
    study_ids: Sequence[str],
    study_names: Collection[str],
    studies_in_flight: int,
    flush_rows: int,
    on_partition: OnPartition | None,
    workers: StudyWorkers | None,
) -> IngestRun:
    started = time.perf_counter()
    run = IngestRun()
    # One writer at a time on the session's connection; the DuckDB work runs in a thread (it
    # releases the GIL) so that network waits and parsing of other studies go on meanwhile.
    write_lock = asyncio.Lock()
    slots = asyncio.Semaphore(max(1, studies_in_flight))
    global_names = [n for n in GLOBAL_NAMES if n in set(global_names)]
    study_names = [n for n in STUDY_NAMES if n in set(study_names)]
    waiting: list[tuple[str, list[FilledPartition]]] = []

    async def write(partitions: list[tuple[str | None, list[FilledPartition]]]) -> None:
        builders = [b for _, group in partitions for b in group]
        async with write_lock:
            results = await asyncio.to_thread(session.write_partitions, builders)
        run.loads.extend(results)
        if on_partition is not None:
            at = 0
            for study_id, group in partitions:
                on_partition(study_id, results[at : at + len(group)])
                at += len(group)

    async def flush() -> None:
        batch = list(waiting)
        waiting.clear()
        if batch:
            await write(list(batch))

    def builders_for(names: Sequence[str], study_id: str | None) -> dict[str, PartitionBuilder]:
        # One builder per selected table, an empty one included: a resource that vanished is
        # emptied.
        return {name: session.partition(name, study_id) for name in names}

    async def load_globals() -> None:
        builders = builders_for(global_names, None)
        listed: list[str] = []

        def received(batch: Batch) -> None:
            builders[batch.resource].add(batch)
            if batch.resource == "studies":
                listed.extend(r["id"] for r in batch.records)

        await client.stream_global(global_names, received)
        await write([(None, list(builders.values()))])
        if "studies" in global_names:
            async with write_lock:
                run.purged = await asyncio.to_thread(session.purge_partitions_except, listed)

    async def load_study(study_id: str) -> None:
        # The slot is held until the study is queued (or written, when it fills the queue), so
        # memory never holds more than ``studies_in_flight`` studies besides the queue.
        async with slots:
            builders = builders_for(study_names, study_id)
            await client.stream_study(
                study_id, study_names, lambda batch: builders[batch.resource].add(batch)
            )
            await queue([(study_id, list(builders.values()))])

    async def queue(studies: Sequence[tuple[str, list[FilledPartition]]]) -> None:
        """Queue finished studies; write the queue once it holds ``flush_rows`` rows."""
        waiting.extend(studies)
        if sum(b.rows for _, group in waiting for b in group) >= flush_rows:
            await flush()

    def job(study_id: str) -> StudyJob:
        # The partitions are claimed here, as for ``load_study``, and filled in a worker.
        builders = builders_for(study_names, study_id).values()
        return study_id, [(b.spec, b.partition_key) for b in builders]

    async def load_in_workers(studies: list[str], calls: asyncio.Semaphore) -> None:
        assert workers is not None
        async with calls:
            await queue(await workers.fetch([job(study_id) for study_id in studies]))

    async def load_studies_in_workers() -> None:
        assert workers is not None
        calls = asyncio.Semaphore(calls_in_flight(workers.count))
        size = studies_per_call(studies_in_flight, workers.count)
        async with asyncio.TaskGroup() as group:
            for studies in chunks(study_ids, size):
                group.create_task(load_in_workers(studies, calls))

    try:
        async with asyncio.TaskGroup() as group:
            if global_names:
                # With workers, the global tables first: the workers have ``concurrency``
                # between them, so the two never add up to more. Their start overlaps it.
                task = group.create_task(load_globals())
                if workers is not None:
                    await task
            if study_names and workers is not None:
                group.create_task(load_studies_in_workers())
            elif study_names:
                for study_id in study_ids:
                    group.create_task(load_study(study_id))
    except BaseExceptionGroup as eg:
        # The first failure cancelled the rest: it is the cause, and the one line a user sees.
        raise first_cause(eg) from None
    await flush()
    run.seconds = time.perf_counter() - started
    run.metrics = client.metrics.snapshot()
    return run
