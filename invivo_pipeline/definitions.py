"""The Dagster code location: every asset, resource, job, schedule and sensor, in one place.

``dg dev`` (from the repository root, through ``[tool.dg]`` in pyproject.toml), ``dagster dev -w
workspace.yaml`` and ``invivo sync`` all load ``defs`` from here.
"""

import os

import dagster as dg

from invivo_pipeline.assets.cytobank import JOB as CYTOBANK_JOB
from invivo_pipeline.assets.cytobank import CytobankApiResource, cytobank_ingestion
from invivo_pipeline.assets.dbt import dbt_cli, dbt_project, invivo_dbt
from invivo_pipeline.assets.ingestion import invivo_ingestion
from invivo_pipeline.assets.reports import invivo_reports
from invivo_pipeline.assets.resources import InVivoApiResource, WarehouseResource
from invivo_pipeline.automation import JOBS, SCHEDULES, SENSORS, follow_upstream
from invivo_pipeline.automation.freshness import with_freshness

ingest_everything = dg.define_asset_job(
    "invivo_ingest",
    selection=dg.AssetSelection.assets(invivo_ingestion),
    description="Every In Vivo table: the global ones and, per study partition, the study ones.",
)

sync_everything = dg.define_asset_job(
    "invivo_sync",
    selection=dg.AssetSelection.assets(invivo_ingestion, invivo_dbt, invivo_reports),
    description="Every In Vivo table, then `dbt build` of every staging and mart model and its "
    "tests, then the plots and HTML reports, in one run: what `invivo sync` runs.",
)

cytobank_sync = dg.define_asset_job(
    CYTOBANK_JOB,
    selection=dg.AssetSelection.assets(cytobank_ingestion, invivo_dbt),
    description="Every Cytobank table (the experiment list and, per experiment partition, its "
    "tables), then `dbt build`. Needs CYTOBANK_BASE_URL and credentials; In Vivo jobs never "
    "touch Cytobank.",
)


def _cytobank_secrets() -> dict[str, dg.EnvVar]:
    """EnvVars for the Cytobank variables that are set: an unset one must not fail a run that
    uses the other login method (or no Cytobank at all)."""
    fields = {
        "base_url": "CYTOBANK_BASE_URL",
        "username": "CYTOBANK_USERNAME",
        "password": "CYTOBANK_PASSWORD",
        "api_token": "CYTOBANK_API_TOKEN",
    }
    return {field: dg.EnvVar(var) for field, var in fields.items() if os.environ.get(var)}


# Sensors and schedules keep raw fresh; the dbt models (groups staging, marts) and the reports
# follow their inputs, and the freshness policies make a stall visible: both set on the specs.
ASSETS = with_freshness(
    follow_upstream([invivo_ingestion, invivo_dbt, invivo_reports, cytobank_ingestion])
)

defs = dg.Definitions(
    assets=ASSETS,
    jobs=[ingest_everything, sync_everything, cytobank_sync, *JOBS],
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources={
        "invivo_api": InVivoApiResource(
            base_url=dg.EnvVar("INVIVO_BASE_URL"),
            client_id=dg.EnvVar("INVIVO_CLIENT_ID"),
            client_secret=dg.EnvVar("INVIVO_CLIENT_SECRET"),
        ),
        "cytobank_api": CytobankApiResource(**_cytobank_secrets()),
        "warehouse": WarehouseResource(),
        "dbt": dbt_cli(dbt_project),
    },
)
