"""The ``cytobank_raw`` tables as one subsettable multi-asset, like ``invivo_ingestion``.

The experiment list is a global table; every other table is partitioned by experiment id (dynamic
partitions ``cytobank_experiment``, registered by ``invivo sync``). One step per run, one
transaction per run, one token per run; metadata and checks as for the In Vivo tables. The source
is optional: nothing here runs unless a Cytobank job is launched, and the resource reads
``CYTOBANK_*`` only then.
"""

import os
from collections.abc import Iterator

import dagster as dg

from invivo_pipeline.assets.partitions import cytobank_experiment_partitions
from invivo_pipeline.assets.raw_tables import (
    OWNERS,
    asset_results,
    check_specs,
    column_schema,
    load_in_one_transaction,
    raw_asset_key,
    selected_checks,
)
from invivo_pipeline.assets.resources import WarehouseResource
from invivo_pipeline.client.cytobank import CytobankClient, CytobankConfig
from invivo_pipeline.cytobank_table import (
    CYTOBANK_RESOURCES,
    CYTOBANK_SCHEMA,
    EXPERIMENT_NAMES,
    GLOBAL_NAMES,
    CytobankResource,
)
from invivo_pipeline.resource_table import Scope
from invivo_pipeline.sync.cytobank import ingest_cytobank
from invivo_pipeline.sync.ingest import IngestRun
from invivo_pipeline.warehouse import LoadSession, Warehouse
from invivo_pipeline.warehouse.quality import all_checks

GROUP = CYTOBANK_SCHEMA
JOB = "cytobank_sync"


class CytobankApiResource(dg.ConfigurableResource):
    """Cytobank. Secrets as ``EnvVar``s; anything unset falls back to ``CYTOBANK_*`` at run time."""

    base_url: str | None = None
    username: str | None = None
    password: str | None = None
    api_token: str | None = None

    def client_config(self) -> CytobankConfig:
        given = {
            "base_url": self.base_url,
            "username": self.username,
            "password": self.password,
            "api_token": self.api_token,
        }
        return CytobankConfig.from_env(os.environ, **{k: v for k, v in given.items() if v})


def cytobank_asset_key(name: str) -> dg.AssetKey:
    return raw_asset_key(CYTOBANK_SCHEMA, name)


def _spec(resource: CytobankResource) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=cytobank_asset_key(resource.name),
        description=f"{resource.description}\n\nFrom Cytobank `GET {resource.route.path}` into "
        f"`{CYTOBANK_SCHEMA}.{resource.name}` (primary key {', '.join(resource.primary_key)}).",
        group_name=GROUP,
        kinds={"duckdb", "python"},
        owners=OWNERS,
        deps=[cytobank_asset_key(resource.parent)] if resource.parent else [],
        partitions_def=cytobank_experiment_partitions
        if resource.scope is Scope.EXPERIMENT
        else None,
        metadata={
            "dagster/table_name": f"{CYTOBANK_SCHEMA}.{resource.name}",
            "dagster/column_schema": column_schema(resource),
            "primary_key": ", ".join(resource.primary_key),
            "api_route": resource.route.path,
            "scope": str(resource.scope),
        },
    )


CHECKS = all_checks(CYTOBANK_RESOURCES)
SPECS = [_spec(r) for r in CYTOBANK_RESOURCES]
CHECK_SPECS = check_specs(CYTOBANK_SCHEMA, CHECKS)


@dg.multi_asset(
    name="cytobank_ingestion",
    specs=SPECS,
    check_specs=CHECK_SPECS,
    can_subset=True,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb_writer",
)
def cytobank_ingestion(
    context: dg.AssetExecutionContext,
    cytobank_api: CytobankApiResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    selected = {key.path[-1] for key in context.selected_asset_keys}
    global_names = [n for n in GLOBAL_NAMES if n in selected]
    names = [n for n in EXPERIMENT_NAMES if n in selected]
    experiment_ids = list(context.partition_keys) if names else []
    checks = selected_checks(context, CYTOBANK_SCHEMA, CHECKS)
    wh = Warehouse(
        warehouse.warehouse().path,
        resources=CYTOBANK_RESOURCES,
        lock_timeout=warehouse.lock_timeout_s,
    )
    context.log.info(f"fetching {len(names)} Cytobank tables for {len(experiment_ids)} experiments")

    async def fetch(session: LoadSession) -> IngestRun:
        async with CytobankClient(cytobank_api.client_config()) as client:
            return await ingest_cytobank(
                client,
                session,
                global_names=global_names,
                experiment_ids=experiment_ids,
                experiment_names=names,
            )

    ingested, counts = load_in_one_transaction(
        wh, selected, checks, fetch, run_id=context.run.run_id
    )
    yield from asset_results(CYTOBANK_RESOURCES, ingested, counts)
