"""The ``invivo_raw`` tables: one asset per API resource, all computed by one subsettable step
(``assets.raw_tables.raw_tables_step``), partitioned by study where the resource is per study."""

from __future__ import annotations

import dagster as dg

from invivo_pipeline.assets.raw_tables import (
    RawTables,
    Selection,
    check_specs,
    raw_asset_key,
    raw_tables_step,
)
from invivo_pipeline.core.resource_spec import Resource
from invivo_pipeline.sources.invivo.api_resource import InVivoApiResource
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.ingest import ingest
from invivo_pipeline.sources.invivo.partitions import study_partitions
from invivo_pipeline.sources.invivo.table import API_PREFIX, INVIVO_SCHEMA, RESOURCES, STUDY
from invivo_pipeline.warehouse import LoadSession
from invivo_pipeline.warehouse.ingest_run import IngestRun
from invivo_pipeline.warehouse.quality import all_checks

GROUP = INVIVO_SCHEMA


def asset_key(resource_name: str) -> dg.AssetKey:
    return raw_asset_key(INVIVO_SCHEMA, resource_name)


def _deps(resource: Resource) -> list[str]:
    if resource.parent:
        return [resource.parent]
    if resource.scope == STUDY and resource.name != "studies":
        return ["studies"]
    return []


async def _fetch(api: InVivoApiResource, session: LoadSession, run: Selection) -> IngestRun:
    async with InVivoClient(api.client_config()) as client:
        return await ingest(
            client,
            session,
            global_names=run.global_names,
            study_ids=run.partition_keys,
            study_names=run.partition_names,
            on_partition=run.on_partition,
        )


RAW_TABLES = RawTables(
    name="invivo_ingestion",
    resources=RESOURCES,
    api_resource_key="invivo_api",
    fetch=_fetch,
    partitions_def=study_partitions,
    group=GROUP,
    api_label=API_PREFIX,
    deps=_deps,
)
CHECKS = all_checks(RESOURCES)
invivo_ingestion = raw_tables_step(RAW_TABLES)
CHECK_SPECS = check_specs(INVIVO_SCHEMA, CHECKS)
