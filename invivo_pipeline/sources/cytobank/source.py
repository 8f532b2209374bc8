"""Cytobank as a source of the code location: its raw tables, the job that loads them with the
dbt models, and the daily refresh. Off (every evaluation a skip) while ``CYTOBANK_BASE_URL`` is
unset; In Vivo jobs never touch it."""

import os

import dagster as dg

from invivo_pipeline.assets.dbt import invivo_dbt
from invivo_pipeline.assets.source import Source
from invivo_pipeline.sources.cytobank.assets import JOB, CytobankApiResource, cytobank_ingestion
from invivo_pipeline.sources.cytobank.schedule import cytobank_refresh_daily
from invivo_pipeline.sources.cytobank.table import CYTOBANK_RESOURCES

sync_job = dg.define_asset_job(
    JOB,
    selection=dg.AssetSelection.assets(cytobank_ingestion, invivo_dbt),
    description="Every Cytobank table (the experiment list and, per experiment partition, its "
    "tables), then `dbt build`. Needs CYTOBANK_BASE_URL and credentials; In Vivo jobs never "
    "touch Cytobank.",
)


def _secrets() -> dict[str, dg.EnvVar]:
    """EnvVars for the Cytobank variables that are set: an unset one must not fail a run that
    uses the other login method (or no Cytobank at all)."""
    fields = {
        "base_url": "CYTOBANK_BASE_URL",
        "username": "CYTOBANK_USERNAME",
        "password": "CYTOBANK_PASSWORD",
        "api_token": "CYTOBANK_API_TOKEN",
    }
    return {field: dg.EnvVar(var) for field, var in fields.items() if os.environ.get(var)}


SOURCE = Source(
    name="cytobank",
    tables=CYTOBANK_RESOURCES,
    assets=[cytobank_ingestion],
    resources={"cytobank_api": CytobankApiResource(**_secrets())},
    jobs=[sync_job],
    schedules=[cytobank_refresh_daily],
)
