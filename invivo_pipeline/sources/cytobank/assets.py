"""The ``cytobank_raw`` tables as one subsettable multi-asset, like ``invivo_ingestion``.

The experiment list is a global table; every other table is partitioned by experiment id (dynamic
partitions ``cytobank_experiment``, registered by ``invivo sync``). One step per run, one
transaction per run, one token per run; metadata and checks as for the In Vivo tables. The source
is optional: nothing here runs unless a Cytobank job is launched, and the resource reads
``CYTOBANK_*`` only then.
"""

from __future__ import annotations

import os

import dagster as dg

from invivo_pipeline.assets.raw_tables import (
    RawTables,
    Selection,
    check_specs,
    raw_asset_key,
    raw_tables_step,
)
from invivo_pipeline.sources.cytobank.client import CytobankClient
from invivo_pipeline.sources.cytobank.config import CytobankConfig
from invivo_pipeline.sources.cytobank.ingest import ingest_cytobank
from invivo_pipeline.sources.cytobank.partitions import cytobank_experiment_partitions
from invivo_pipeline.sources.cytobank.table import API_PREFIX, CYTOBANK_RESOURCES, CYTOBANK_SCHEMA
from invivo_pipeline.warehouse import LoadSession
from invivo_pipeline.warehouse.ingest_run import IngestRun
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


async def _fetch(api: CytobankApiResource, session: LoadSession, run: Selection) -> IngestRun:
    async with CytobankClient(api.client_config()) as client:
        return await ingest_cytobank(
            client,
            session,
            global_names=run.global_names,
            experiment_ids=run.partition_keys,
            experiment_names=run.partition_names,
            on_partition=run.on_partition,
        )


RAW_TABLES = RawTables(
    name="cytobank_ingestion",
    resources=CYTOBANK_RESOURCES,
    api_resource_key="cytobank_api",
    fetch=_fetch,
    partitions_def=cytobank_experiment_partitions,
    group=GROUP,
    api_label=API_PREFIX,
)
CHECKS = all_checks(CYTOBANK_RESOURCES)
CHECK_SPECS = check_specs(CYTOBANK_SCHEMA, CHECKS)
cytobank_ingestion = raw_tables_step(RAW_TABLES)
