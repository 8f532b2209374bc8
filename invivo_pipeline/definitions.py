"""The Dagster code location: every asset, resource, job, schedule and sensor, in one place.

``dagster dev`` (from the repository root, through ``workspace.yaml``) and ``invivo sync`` both
load ``defs`` from here.
"""

import dagster as dg
from dagster_dbt import DbtCliResource

from invivo_pipeline.assets.dbt import dbt_project, invivo_dbt
from invivo_pipeline.assets.ingestion import invivo_ingestion
from invivo_pipeline.assets.reports import invivo_reports
from invivo_pipeline.assets.resources import InVivoApiResource, WarehouseResource
from invivo_pipeline.automation import JOBS, SCHEDULES, SENSORS, follow_upstream

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

defs = dg.Definitions(
    assets=[invivo_ingestion, invivo_dbt, invivo_reports],
    jobs=[ingest_everything, sync_everything, *JOBS],
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources={
        "invivo_api": InVivoApiResource(
            base_url=dg.EnvVar("INVIVO_BASE_URL"),
            client_id=dg.EnvVar("INVIVO_CLIENT_ID"),
            client_secret=dg.EnvVar("INVIVO_CLIENT_SECRET"),
        ),
        "warehouse": WarehouseResource(),
        "dbt": DbtCliResource(project_dir=dbt_project),
    },
)

# Sensors and schedules keep raw fresh; dbt models (groups staging, marts) and the reports follow
# their inputs.
defs = follow_upstream(defs)
