"""One Cytobank ingestion run: the experiment list and, per experiment, its tables, in one session.

The same guarantees as the In Vivo run (``sources.invivo.ingest``): one transaction, so a failed or killed run
leaves ``cytobank_raw`` as it was; every selected table of an experiment is replaced together;
reloading the experiment list purges the rows of experiments Cytobank no longer lists;
unchanged partitions are not rewritten. Experiments are fetched one after another: at 100 requests
a minute, concurrency buys nothing but 429s.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

from invivo_pipeline.core.batches import Batch
from invivo_pipeline.sources.cytobank.client import CytobankClient
from invivo_pipeline.sources.cytobank.config import CytobankConfig
from invivo_pipeline.sources.cytobank.table import EXPERIMENT_NAMES, GLOBAL_NAMES
from invivo_pipeline.warehouse import LoadSession, TableLoad
from invivo_pipeline.warehouse.ingest_run import IngestRun, OnPartition


def table_loads(
    batches: Sequence[Batch], names: Collection[str], experiment_id: str | None
) -> list[TableLoad]:
    """One load per selected table, an empty one included: a resource that vanished is emptied."""
    grouped: dict[str, list[Batch]] = {name: [] for name in names}
    for batch in batches:
        grouped.setdefault(batch.resource, []).append(batch)
    return [TableLoad(name, grouped[name], experiment_id) for name in names]


async def ingest_cytobank(
    client: CytobankClient,
    session: LoadSession,
    *,
    global_names: Collection[str] = GLOBAL_NAMES,
    experiment_ids: Sequence[str] = (),
    experiment_names: Collection[str] = EXPERIMENT_NAMES,
    on_partition: OnPartition | None = None,
) -> IngestRun:
    started = time.perf_counter()
    run = IngestRun()
    global_names = [n for n in GLOBAL_NAMES if n in set(global_names)]
    names = [n for n in EXPERIMENT_NAMES if n in set(experiment_names)]
    if global_names:
        batches = await client.fetch_experiments()
        results = session.load_many(table_loads(batches, global_names, None))
        run.loads.extend(results)
        # The full experiment list, as for In Vivo studies: a vanished experiment's rows go too.
        listed = [str(r["id"]) for b in batches if b.resource == "experiments" for r in b.records]
        run.purged = session.purge_partitions_except(listed)
        if on_partition is not None:
            on_partition(None, results)
    if names:
        for eid in experiment_ids:
            batches = await client.fetch_experiment(eid, names)
            results = session.load_many(table_loads(batches, names, str(eid)))
            run.loads.extend(results)
            if on_partition is not None:
                on_partition(str(eid), results)
    run.seconds = time.perf_counter() - started
    run.metrics = client.metrics.snapshot()
    return run


async def discover_experiments(config: CytobankConfig) -> tuple[list[str], int]:
    async with CytobankClient(config) as client:
        ids = [str(e["id"]) for e in await client.list_experiments()]
        return ids, client.metrics.requests
