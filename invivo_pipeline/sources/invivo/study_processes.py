"""Studies fetched, checked and flattened in worker processes, while the run's own process writes.

Why: in one process, one thread read every page (HTTP, the JSON limits, validation, flattening,
fingerprinting: about nine tenths of an ingestion's CPU) and the second core sat idle
(docs/performance.md). A worker runs a client of its own, built from the same config, over the
studies it is handed, and sends back each study's partitions as Arrow (``FinishedPartition``). The
caller writes them in its one transaction as before, so a failed run still leaves the warehouse as
it was. The workers share the caller's token (no token request of their own while it lasts),
``concurrency`` (each has its share) and the request budget, which must then be the shared one.

Workers start from a ``forkserver``, not by ``fork``: the run's process has threads (DuckDB's,
Dagster's), and a fork copies their locks in whatever state they are in. An exception in a worker
comes back as itself when it pickles, else as ``StudyWorkerError`` with its one-line text. The
rows themselves come back through shared memory (``core.arrow_handoff``), not the pool's pipe.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

import httpx

from invivo_pipeline.core import arrow_handoff
from invivo_pipeline.core.errors import first_cause
from invivo_pipeline.core.metrics import ClientMetrics
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.warehouse.partition_rows import FinishedPartition, PartitionBuilder
from invivo_pipeline.warehouse.schema import TableSpec

FROM_STUDIES = 8
"""Fewest studies in a run for workers to be worth their start (about a second, overlapped with
the global tables): a webhook's one-study run stays in one process."""

StudyJob = tuple[str, list[tuple[TableSpec, str]]]
"""A study and the partitions (table spec, partition key) to fill for it."""
StudyResult = tuple[str, list[FinishedPartition]]
_SentResult = tuple[str, list[tuple[FinishedPartition, str | None]]]
"""A study's partitions as a worker sends them: each with the shared-memory file that holds its
rows (``arrow_handoff``), or None where the rows travel with it."""


class StudyWorkerError(Exception):
    """A worker's failure whose exception could not travel between processes; one line."""


@dataclass(frozen=True)
class StudyProcesses:
    """How many workers, how they start, and what they send requests through: the network
    unless ``transport`` makes one (the replay benchmark hands its recording to forked workers).
    """

    count: int
    start_method: str = "forkserver"
    transport: Callable[[], httpx.AsyncBaseTransport] | None = None

    @classmethod
    def for_run(cls, client: InVivoClient, studies: int) -> StudyProcesses | None:
        """The workers ``client``'s config asks for, or None where they cannot stand in for it:
        too few studies, a transport or limiter given to the client itself, or a request budget
        kept in this process's memory (workers would each have a whole one)."""
        config = client.config
        if config.ingest_processes < 1 or studies < FROM_STUDIES or client.stands_alone:
            return None
        if config.requests_per_minute and not config.shared_budget_path:
            return None
        return cls(config.ingest_processes)


class StudyWorkers:
    """A running pool of ``StudyProcesses`` for one ingestion; ``fetch`` a few studies at a time."""

    def __init__(self, plan: StudyProcesses, client: InVivoClient) -> None:
        self._client = client
        self.count = plan.count
        config = client.config
        worker_config = replace(
            config,
            concurrency=max(1, config.concurrency // plan.count),
            run_deadline_s=client.run_seconds_left(),
        )
        self._handoff = arrow_handoff.Handoff()
        context = multiprocessing.get_context(plan.start_method)
        if plan.start_method == "forkserver":
            context.set_forkserver_preload([__name__])
        self._pool = ProcessPoolExecutor(
            plan.count,
            mp_context=context,
            initializer=_start_worker,
            initargs=(worker_config, plan.transport),
        )
        # Start every worker now, so that their start overlaps the global tables' requests.
        for _ in range(plan.count):
            self._pool.submit(gc.collect)

    async def fetch(self, jobs: Sequence[StudyJob]) -> list[StudyResult]:
        """Each study's partitions, filled by a worker; its request counts join the client's."""
        handed = await self._client.token_handoff()
        future = self._pool.submit(_fetch_studies, list(jobs), handed, self._handoff.directory)
        try:
            sent, metrics = await asyncio.wrap_future(future)
        except BrokenProcessPool:
            raise StudyWorkerError(
                "a worker process fetching studies ended unexpectedly (killed, or out of memory?)"
            ) from None
        except Exception as exc:
            # Its cause is the worker's traceback as text; the error itself is the one line.
            raise exc from None
        self._client.metrics.merge(metrics)
        return [
            (study_id, [_received(partition, path) for partition, path in partitions])
            for study_id, partitions in sent
        ]

    def close(self) -> None:
        """Stop the workers without waiting for studies still in hand (the run is over or has
        failed, and their requests would only add to the tenant's load)."""
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        self._handoff.close()


def _received(partition: FinishedPartition, path: str | None) -> FinishedPartition:
    return partition if path is None else replace(partition, _table=arrow_handoff.take(path))


def chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[at : at + size]) for at in range(0, len(items), size)]


def calls_in_flight(workers: int) -> int:
    """Calls handed out at once: each worker busy with one and the next waiting for it."""
    return 2 * workers


# -- in the worker ------------------------------------------------------------------------------


@dataclass
class _Worker:
    loop: asyncio.AbstractEventLoop
    client: InVivoClient


_worker: _Worker | None = None


def _start_worker(
    config: ClientConfig, transport: Callable[[], httpx.AsyncBaseTransport] | None
) -> None:
    global _worker
    asyncio._set_running_loop(None)  # forked from within the caller's loop, if forked
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    client = InVivoClient(config, transport=transport() if transport is not None else None)
    _worker = _Worker(loop, client)
    gc.freeze()  # the modules and the client: nothing there for the collector to find


def _fetch_studies(
    jobs: list[StudyJob], handed: tuple[str, float] | None, handoff: str | None
) -> tuple[list[_SentResult], ClientMetrics]:
    assert _worker is not None, "the worker was not started"
    client = _worker.client
    client.adopt_token(handed)
    try:
        results = _worker.loop.run_until_complete(_fill(client, jobs))
    except Exception as exc:
        raise _portable(exc) from None
    sent = [
        (study_id, [_sent(partition, handoff) for partition in partitions])
        for study_id, partitions in results
    ]
    return sent, client.metrics.take()


def _sent(
    partition: FinishedPartition, handoff: str | None
) -> tuple[FinishedPartition, str | None]:
    """The partition without its rows where they went to shared memory, and the file's path."""
    table = partition.table()
    path = arrow_handoff.put(table, handoff)
    return (
        (partition, None) if path is None else (replace(partition, _table=table.slice(0, 0)), path)
    )


async def _fill(client: InVivoClient, jobs: list[StudyJob]) -> list[StudyResult]:
    async def one(study_id: str, partitions: list[tuple[TableSpec, str]]) -> StudyResult:
        builders = {spec.name: PartitionBuilder(spec, key) for spec, key in partitions}
        await client.stream_study(
            study_id, list(builders), lambda batch: builders[batch.resource].add(batch)
        )
        return study_id, [b.finished() for b in builders.values()]

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(study_id, parts)) for study_id, parts in jobs]
    except BaseExceptionGroup as eg:
        raise first_cause(eg) from None
    return [task.result() for task in tasks]


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives the trip back to the caller's process, else its one line."""
    try:
        back = pickle.loads(pickle.dumps(exc))
    except Exception:
        back = None
    if type(back) is type(exc) and str(back) == str(exc):
        return exc
    text = str(exc).strip() or type(exc).__name__
    return StudyWorkerError(text.splitlines()[0])


def studies_per_call(studies_in_flight: int, workers: int) -> int:
    """Studies in one call: the run's ``studies_in_flight`` shared among the calls in flight, so
    that the studies in hand (each worker's and those queued for it) are no more than that. A
    study is a worker's memory until its rows are sent back; two per call made the workers'
    peak about a fifth larger for little time saved (docs/performance.md)."""
    return max(1, studies_in_flight // calls_in_flight(workers))
