"""One asset per API resource, all computed by one subsettable step.

One step (not one per resource) because DuckDB has a single writer and the warehouse promises that
a run commits everything or nothing: the step fetches what was selected — the global tables and,
for every study partition of the run, the per-study tables — and loads it in one transaction. It
also means one OAuth token and one connection pool per run, which keeps the request count at the
minimum. Selecting a single asset in the UI fetches and loads only that table.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from invivo_pipeline.assets.event_log import event_log_kept_open
from invivo_pipeline.assets.partitions import study_partitions
from invivo_pipeline.assets.raw_tables import (
    OWNERS,
    asset_results,
    check_specs,
    column_schema,
    load_in_one_transaction,
    raw_asset_key,
    selected_checks,
)
from invivo_pipeline.assets.resources import InVivoApiResource, WarehouseResource
from invivo_pipeline.client import InVivoClient
from invivo_pipeline.resource_table import RESOURCES, Resource, Scope
from invivo_pipeline.sync import observers
from invivo_pipeline.sync.ingest import GLOBAL_NAMES, STUDY_NAMES, IngestRun, ingest
from invivo_pipeline.warehouse import SCHEMA, LoadSession
from invivo_pipeline.warehouse.quality import all_checks

GROUP = "invivo_raw"


def asset_key(resource_name: str) -> dg.AssetKey:
    return raw_asset_key(SCHEMA, resource_name)


def _deps(resource: Resource) -> list[dg.AssetKey]:
    if resource.parent:
        return [asset_key(resource.parent)]
    if resource.scope is Scope.STUDY and resource.name != "studies":
        return [asset_key("studies")]
    return []


def _spec(resource: Resource) -> dg.AssetSpec:
    route = resource.route.path
    return dg.AssetSpec(
        key=asset_key(resource.name),
        description=f"{resource.description}\n\nFrom `GET /api/public/v1{route}` into "
        f"`{SCHEMA}.{resource.name}` (primary key {', '.join(resource.primary_key)}).",
        group_name=GROUP,
        kinds={"duckdb", "python"},
        owners=OWNERS,
        deps=_deps(resource),
        partitions_def=study_partitions if resource.scope is Scope.STUDY else None,
        metadata={
            "dagster/table_name": f"{SCHEMA}.{resource.name}",
            "dagster/column_schema": column_schema(resource),
            "primary_key": ", ".join(resource.primary_key),
            "api_route": route,
            "scope": str(resource.scope),
        },
    )


CHECKS = all_checks()
SPECS = [_spec(r) for r in RESOURCES]
CHECK_SPECS = check_specs(SCHEMA, CHECKS)


@dg.multi_asset(
    name="invivo_ingestion",
    specs=SPECS,
    check_specs=CHECK_SPECS,
    can_subset=True,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb_writer",
)
def invivo_ingestion(
    context: dg.AssetExecutionContext,
    invivo_api: InVivoApiResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    selected = {key.path[-1] for key in context.selected_asset_keys}
    global_names = [n for n in GLOBAL_NAMES if n in selected]
    study_names = [n for n in STUDY_NAMES if n in selected]
    study_ids = list(context.partition_keys) if study_names else []
    checks = selected_checks(context, SCHEMA, CHECKS)
    wh = warehouse.warehouse()
    context.log.info(
        f"fetching {len(global_names)} global tables and {len(study_names)} tables "
        f"for {len(study_ids)} studies into {wh.path}"
    )

    def partition_done(study_id: str | None, results: list[Any]) -> None:
        written = sum(r.rows_written for r in results)
        context.log.debug(f"{'study ' + study_id if study_id else 'global tables'}: {written} rows")
        observers.partition_done(study_id, results)

    async def fetch(session: LoadSession) -> IngestRun:
        async with InVivoClient(invivo_api.client_config()) as client:
            return await ingest(
                client,
                session,
                global_names=global_names,
                study_ids=study_ids,
                study_names=study_names,
                on_partition=partition_done,
            )

    ingested, counts = load_in_one_transaction(
        wh, selected, checks, fetch, run_id=context.run.run_id
    )
    # Dagster records one materialization per table and study partition as these are yielded.
    with event_log_kept_open(context.instance, context.run_id):
        yield from asset_results(RESOURCES, ingested, counts)
