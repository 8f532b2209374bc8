"""The Cytobank half of ``invivo sync``: only when ``CYTOBANK_BASE_URL`` is set.

It lists the experiments, registers them as ``cytobank_experiment`` partitions and runs the
ingestion assets of the ``cytobank_sync`` job in one Dagster run (one transaction). The In Vivo run
that follows builds dbt over both sources, so dbt runs once per sync.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from invivo_pipeline.assets.cytobank import JOB, cytobank_asset_key
from invivo_pipeline.assets.partitions import CYTOBANK_EXPERIMENT_PARTITIONS_NAME
from invivo_pipeline.client import run_sync
from invivo_pipeline.client.cytobank import CytobankClient, CytobankConfig, cytobank_configured
from invivo_pipeline.cytobank_table import CYTOBANK_RESOURCES, GLOBAL_NAMES
from invivo_pipeline.sync import observers
from invivo_pipeline.sync.ingest import IngestRun
from invivo_pipeline.warehouse import TableLoadResult, Warehouse


@dataclass
class CytobankSyncSummary:
    experiments: int
    rows: dict[str, int]
    requests: int
    minimum_requests: int
    run: IngestRun


class _Collector:
    run: IngestRun | None = None

    def partition_done(self, study_id: str | None, results: list[TableLoadResult]) -> None:
        return None

    def run_done(self, run: IngestRun) -> None:
        self.run = run


async def discover_experiments(config: CytobankConfig) -> tuple[list[str], int]:
    async with CytobankClient(config) as client:
        ids = [str(e["id"]) for e in await client.list_experiments()]
        return ids, client.metrics.requests


def register_experiments(inst: dg.DagsterInstance, ids: list[str]) -> None:
    known = inst.get_dynamic_partitions(CYTOBANK_EXPERIMENT_PARTITIONS_NAME)
    for key in [k for k in known if k not in set(ids)]:
        inst.delete_dynamic_partition(CYTOBANK_EXPERIMENT_PARTITIONS_NAME, key)
    if new := [i for i in ids if i not in set(known)]:
        inst.add_dynamic_partitions(CYTOBANK_EXPERIMENT_PARTITIONS_NAME, new)


def sync_cytobank(
    inst: dg.DagsterInstance, wh: Warehouse, failure_line: object
) -> CytobankSyncSummary | None:
    """Load every Cytobank table, or return None when the source is off."""
    from invivo_pipeline.cli.sync_run import SyncFailed, run_config
    from invivo_pipeline.definitions import defs

    if not cytobank_configured():
        return None
    config = CytobankConfig.from_env()
    ids, discovery_requests = run_sync(discover_experiments(config))
    register_experiments(inst, ids)
    names = [r.name for r in CYTOBANK_RESOURCES]
    selection = [cytobank_asset_key(n) for n in (names if ids else GLOBAL_NAMES)]
    # Dagster takes a range in the registered order, not the listing's.
    keys = inst.get_dynamic_partitions(CYTOBANK_EXPERIMENT_PARTITIONS_NAME)
    tags = (
        {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
        if ids
        else {}
    )
    collector = _Collector()
    with observers.observing(collector):
        result = defs.resolve_job_def(JOB).execute_in_process(
            instance=inst,
            tags=tags,
            asset_selection=selection,
            raise_on_error=False,
            run_config=run_config(wh),
        )
    if not result.success or collector.run is None:
        raise SyncFailed("Cytobank: " + failure_line(result))  # type: ignore[operator]
    run = collector.run
    cytobank = Warehouse(wh.path, resources=CYTOBANK_RESOURCES)
    return CytobankSyncSummary(
        experiments=len(ids),
        rows=cytobank.row_counts(),
        requests=int(run.metrics["requests"]) + discovery_requests,
        minimum_requests=int(run.metrics["minimum_requests"]) + 1,
        run=run,
    )
