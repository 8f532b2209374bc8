"""The Dagster code location: every asset, resource, job, schedule and sensor, in one place.

``dagster dev`` (from the repository root, through ``workspace.yaml``) and ``invivo sync`` both
load ``defs`` from here.
"""

import dagster as dg

from invivo_pipeline.assets.ingestion import invivo_ingestion
from invivo_pipeline.assets.resources import InVivoApiResource, WarehouseResource

ingest_everything = dg.define_asset_job(
    "invivo_ingest",
    selection=dg.AssetSelection.assets(invivo_ingestion),
    description="Every In Vivo table: the global ones and, per study partition, the study ones.",
)

defs = dg.Definitions(
    assets=[invivo_ingestion],
    jobs=[ingest_everything],
    resources={
        "invivo_api": InVivoApiResource(
            base_url=dg.EnvVar("INVIVO_BASE_URL"),
            client_id=dg.EnvVar("INVIVO_CLIENT_ID"),
            client_secret=dg.EnvVar("INVIVO_CLIENT_SECRET"),
        ),
        "warehouse": WarehouseResource(),
    },
)
