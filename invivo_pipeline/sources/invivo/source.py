"""Benchling In Vivo as a source of the code location: its raw tables, the jobs that load them
(and ``invivo_sync``, the whole pipeline), the sensors and schedules that keep them fresh."""

import dagster as dg

from invivo_pipeline.assets.dbt import invivo_dbt
from invivo_pipeline.assets.report_pages import invivo_reports
from invivo_pipeline.assets.source import Source
from invivo_pipeline.sources.invivo.api_resource import InVivoApiResource
from invivo_pipeline.sources.invivo.assets import invivo_ingestion
from invivo_pipeline.sources.invivo.automation.jobs import FULL_JOB, JOBS, SYNC_JOB
from invivo_pipeline.sources.invivo.automation.schedules import SCHEDULES
from invivo_pipeline.sources.invivo.automation.sensors import SENSORS
from invivo_pipeline.sources.invivo.table import RESOURCES

ingest_job = dg.define_asset_job(
    FULL_JOB,
    selection=dg.AssetSelection.assets(invivo_ingestion),
    description="Every In Vivo table: the global ones and, per study partition, the study ones.",
)

sync_job = dg.define_asset_job(
    SYNC_JOB,
    selection=dg.AssetSelection.assets(invivo_ingestion, invivo_dbt, invivo_reports),
    description="Every In Vivo table, then `dbt build` of every staging and mart model and its "
    "tests, then the plots and HTML reports, in one run: what `invivo sync` runs.",
)

SOURCE = Source(
    name="invivo",
    tables=RESOURCES,
    assets=[invivo_ingestion],
    resources={
        "invivo_api": InVivoApiResource(
            base_url=dg.EnvVar("INVIVO_BASE_URL"),
            client_id=dg.EnvVar("INVIVO_CLIENT_ID"),
            client_secret=dg.EnvVar("INVIVO_CLIENT_SECRET"),
        ),
    },
    jobs=[ingest_job, sync_job, *JOBS],
    schedules=SCHEDULES,
    sensors=SENSORS,
)
