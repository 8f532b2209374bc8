"""The toy source as the code location sees it: its raw-tables step and its API resource."""

from __future__ import annotations

import dagster as dg
import httpx

from invivo_pipeline.assets.raw_tables import RawTables, Selection, raw_tables_step
from invivo_pipeline.assets.source import Source
from invivo_pipeline.core.batches import Batch
from invivo_pipeline.core.validation import validate_object
from invivo_pipeline.warehouse import LoadSession, TableLoad
from invivo_pipeline.warehouse.ingest_run import IngestRun
from invivo_pipeline_tests.support.toy_source.table import RESOURCES

BY_NAME = {r.name: r for r in RESOURCES}


class ToyApiResource(dg.ConfigurableResource):
    base_url: str


async def _page(http: httpx.AsyncClient, name: str, context: dict[str, str]) -> Batch:
    resource = BY_NAME[name]
    response = await http.get(resource.route.format(**context))
    response.raise_for_status()
    records = response.json()
    checked = [(record, validate_object(resource.model, record)) for record in records]
    good = [record for record, reject in checked if reject is None]
    return Batch(name, context, good, rejects=[r for _, r in checked if r is not None])


async def fetch(api: ToyApiResource, session: LoadSession, run: Selection) -> IngestRun:
    ingested = IngestRun()
    async with httpx.AsyncClient(base_url=api.base_url) as http:
        loads = [TableLoad(n, [await _page(http, n, {})]) for n in run.global_names]
        for key in run.partition_keys:
            loads += [
                TableLoad(n, [await _page(http, n, {"gauge_id": key})], key)
                for n in run.partition_names
            ]
    ingested.loads = session.load_many(loads)
    return ingested


GAUGES = dg.DynamicPartitionsDefinition(name="toy_gauge")
RAW_TABLES = RawTables(
    name="toy_ingestion",
    resources=RESOURCES,
    api_resource_key="toy_api",
    fetch=fetch,
    partitions_def=GAUGES,
)


def toy_source(base_url: str) -> Source:
    return Source(
        name="toy",
        tables=RESOURCES,
        assets=[raw_tables_step(RAW_TABLES)],
        resources={"toy_api": ToyApiResource(base_url=base_url)},
    )
