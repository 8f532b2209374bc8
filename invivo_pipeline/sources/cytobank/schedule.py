"""The daily Cytobank refresh: Cytobank sends no events, so a schedule is what keeps it fresh.

It lists the experiments (one request), brings the ``cytobank_experiment`` partitions in line with
them and requests one run of the Cytobank tables over every experiment (one transaction); dbt models
follow through ``follow_upstream``. With ``CYTOBANK_BASE_URL`` unset the source is off and every
evaluation is a skip that says so, so an In Vivo-only deployment never touches Cytobank.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from invivo_pipeline.assets.partition_runs import (
    arrange_ranges,
    range_tags,
    register_partitions,
    tags,
)
from invivo_pipeline.assets.schedule_settings import SCHEDULES
from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.core.partition_keys import usable_keys
from invivo_pipeline.sources.cytobank.assets import JOB, CytobankApiResource, cytobank_asset_key
from invivo_pipeline.sources.cytobank.config import cytobank_configured
from invivo_pipeline.sources.cytobank.ingest import discover_experiments
from invivo_pipeline.sources.cytobank.partitions import CYTOBANK_EXPERIMENT_PARTITIONS_NAME
from invivo_pipeline.sources.cytobank.table import CYTOBANK_RESOURCES, GLOBAL_NAMES

CYTOBANK_SCHEDULE = "cytobank_refresh_daily"


@dg.schedule(
    name=CYTOBANK_SCHEDULE,
    cron_schedule=SCHEDULES.reconcile_cron,
    job_name=JOB,
    execution_timezone=SCHEDULES.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Reloads every Cytobank experiment once a day (Cytobank has no webhooks). Skips "
    "when CYTOBANK_BASE_URL is unset.",
)
def cytobank_refresh_daily(
    context: dg.ScheduleEvaluationContext, cytobank_api: CytobankApiResource
) -> dg.RunRequest | dg.SkipReason:
    if not (cytobank_api.base_url or cytobank_configured()):
        return dg.SkipReason("Cytobank is off: CYTOBANK_BASE_URL is not set")
    listed, _ = run_sync(discover_experiments(cytobank_api.client_config()))
    ids, refused = usable_keys(listed, what="Cytobank experiment")
    for line in refused:
        context.log.warning(line)
    register_partitions(context.instance, CYTOBANK_EXPERIMENT_PARTITIONS_NAME, ids)
    # Every registered experiment is wanted, so this is one range, read off the registered order
    # (which is not necessarily the listing's).
    ranges = arrange_ranges(context.instance, ids, CYTOBANK_EXPERIMENT_PARTITIONS_NAME)
    when = context.scheduled_execution_time or datetime.now(UTC)
    chosen = tags("reconcile", f"every Cytobank experiment ({len(ids)})")
    names = [r.name for r in CYTOBANK_RESOURCES] if ranges else list(GLOBAL_NAMES)
    if ranges:
        chosen |= range_tags(ranges[0][0], ranges[-1][-1])
    return dg.RunRequest(
        run_key=f"cytobank:{when.date().isoformat()}",
        asset_selection=[cytobank_asset_key(n) for n in names],
        tags=chosen,
    )
