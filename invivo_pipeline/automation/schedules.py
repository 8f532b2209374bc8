"""The reconcile schedules: what events and probes missed, caught by reloading (``reconcile``).

Both are RUNNING by default so that scheduled materializations happen with no manual step. Each
evaluation lists the studies first (``ceil(S/100) + 1`` requests) and brings the study partitions
in line with the API (new ones added, vanished ones dropped), so the runs it requests always
target studies that exist.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from invivo_pipeline.assets.partitions import STUDY_PARTITIONS_NAME
from invivo_pipeline.assets.resources import InVivoApiResource
from invivo_pipeline.automation.discovery import ListedStudy
from invivo_pipeline.automation.jobs import (
    FULL_JOB,
    GLOBAL_KEYS,
    REASON_TAG,
    STUDY_JOB,
    STUDY_KEYS,
    TRIGGER_TAG,
)
from invivo_pipeline.automation.reconcile import plan_daily, plan_finished
from invivo_pipeline.automation.sensors import SETTINGS
from invivo_pipeline.cli.sync_run import register_partitions
from invivo_pipeline.client import InVivoClient, run_sync

DAILY_SCHEDULE = "invivo_reconcile_daily"
WEEKLY_SCHEDULE = "invivo_refresh_finished_weekly"


def _list_studies(api: InVivoApiResource) -> list[ListedStudy]:
    async def listing() -> list[ListedStudy]:
        async with InVivoClient(api.client_config()) as client:
            return [ListedStudy.from_record(r) for r in await client.list_all("studies")]

    return run_sync(listing())


def _sync_partitions(context: dg.ScheduleEvaluationContext, listed: list[ListedStudy]) -> list[str]:
    register_partitions(context.instance, [s.id for s in listed])
    return list(context.instance.get_dynamic_partitions(STUDY_PARTITIONS_NAME))


def _day(context: dg.ScheduleEvaluationContext) -> str:
    when = context.scheduled_execution_time or datetime.now(UTC)
    return when.date().isoformat()


def _tags(trigger: str, reason: str) -> dict[str, str]:
    return {TRIGGER_TAG: trigger, REASON_TAG: reason}


@dg.schedule(
    name=DAILY_SCHEDULE,
    cron_schedule=SETTINGS.reconcile_cron,
    job_name=FULL_JOB,
    execution_timezone=SETTINGS.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Reloads the global tables and every study that can still change (or every study, "
    "with INVIVO_DAILY_RECONCILE=all): catches deletes, in-place edits and missed events.",
)
def reconcile_daily(
    context: dg.ScheduleEvaluationContext, invivo_api: InVivoApiResource
) -> list[dg.RunRequest]:
    listed = _list_studies(invivo_api)
    registered = _sync_partitions(context, listed)
    plan = plan_daily(listed, registered, SETTINGS.daily_scope)
    day = _day(context)
    requests: list[dg.RunRequest] = []
    if plan.partition_range is not None:
        first, last = plan.partition_range
        tags = {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
        requests.append(
            dg.RunRequest(
                run_key=f"reconcile:{day}:all",
                tags=tags | _tags("reconcile", f"every study ({len(registered)})"),
            )
        )
    if plan.globals_run:
        requests.append(
            dg.RunRequest(
                run_key=f"reconcile:{day}:global",
                asset_selection=GLOBAL_KEYS,
                tags=_tags("reconcile", "global tables"),
            )
        )
    requests.extend(
        dg.RunRequest(
            run_key=f"reconcile:{day}:{study_id}",
            partition_key=study_id,
            asset_selection=STUDY_KEYS,
            tags=_tags("reconcile", "study can still change"),
        )
        for study_id in plan.studies
    )
    return requests


@dg.schedule(
    name=WEEKLY_SCHEDULE,
    cron_schedule=SETTINGS.finished_cron,
    job_name=STUDY_JOB,
    execution_timezone=SETTINGS.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Reloads completed and canceled studies, which the daily reconcile skips (unless "
    "INVIVO_DAILY_RECONCILE=all, when this schedule has nothing to do).",
)
def refresh_finished_weekly(
    context: dg.ScheduleEvaluationContext, invivo_api: InVivoApiResource
) -> list[dg.RunRequest] | dg.SkipReason:
    if SETTINGS.daily_scope == "all":
        return dg.SkipReason("the daily reconcile reloads every study (INVIVO_DAILY_RECONCILE=all)")
    listed = _list_studies(invivo_api)
    registered = _sync_partitions(context, listed)
    day = _day(context)
    finished = plan_finished(listed, registered)
    if not finished:
        return dg.SkipReason("no completed or canceled studies")
    return [
        dg.RunRequest(
            run_key=f"finished:{day}:{study_id}",
            partition_key=study_id,
            tags=_tags("weekly", "completed or canceled study"),
        )
        for study_id in finished
    ]


SCHEDULES = [reconcile_daily, refresh_finished_weekly]
