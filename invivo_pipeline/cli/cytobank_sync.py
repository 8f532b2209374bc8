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

from invivo_pipeline.assets import run_observers as observers
from invivo_pipeline.assets.partition_runs import register_partitions
from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.sources.cytobank.assets import JOB, cytobank_asset_key
from invivo_pipeline.sources.cytobank.config import CytobankConfig, cytobank_configured
from invivo_pipeline.sources.cytobank.ingest import discover_experiments
from invivo_pipeline.sources.cytobank.partitions import CYTOBANK_EXPERIMENT_PARTITIONS_NAME
from invivo_pipeline.sources.cytobank.table import CYTOBANK_RESOURCES, GLOBAL_NAMES
from invivo_pipeline.warehouse import TableLoadResult, Warehouse
from invivo_pipeline.warehouse.ingest_run import IngestRun


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
    register_partitions(inst, CYTOBANK_EXPERIMENT_PARTITIONS_NAME, ids)
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
