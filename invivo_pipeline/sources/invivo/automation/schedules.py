"""The reconcile schedules: what events and probes missed, caught by reloading (``reconcile``).

Both are RUNNING by default so that scheduled materializations happen with no manual step. Each
evaluation lists the studies first (``ceil(S/100) + 1`` requests) and brings the study partitions
in line with the API (new ones added, vanished ones dropped), so the runs it requests always
target studies that exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from invivo_pipeline.assets.partition_runs import register_partitions
from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.sources.invivo.api_resource import InVivoApiResource
from invivo_pipeline.sources.invivo.automation.discovery import ListedStudy, listed_studies
from invivo_pipeline.sources.invivo.automation.jobs import (
    FULL_JOB,
    GLOBAL_KEYS,
    STUDY_JOB,
    STUDY_KEYS,
)
from invivo_pipeline.sources.invivo.automation.reconcile import plan_daily, plan_finished
from invivo_pipeline.sources.invivo.automation.runs import (
    arrange_ranges,
    range_tags,
    tags,
    waiting_partitions,
)
from invivo_pipeline.sources.invivo.automation.sensors import SETTINGS
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.partitions import STUDY_PARTITIONS_NAME

DAILY_SCHEDULE = "invivo_reconcile_daily"
WEEKLY_SCHEDULE = "invivo_refresh_finished_weekly"


def _list_studies(api: InVivoApiResource) -> tuple[list[ListedStudy], list[str]]:
    async def listing() -> tuple[list[ListedStudy], list[str]]:
        async with InVivoClient(api.client_config()) as client:
            return listed_studies(await client.list_all("studies"))

    return run_sync(listing())


def _sync_partitions(context: dg.ScheduleEvaluationContext, listed: list[ListedStudy]) -> list[str]:
    register_partitions(context.instance, STUDY_PARTITIONS_NAME, [s.id for s in listed])
    return list(context.instance.get_dynamic_partitions(STUDY_PARTITIONS_NAME))


def _day(context: dg.ScheduleEvaluationContext) -> str:
    when = context.scheduled_execution_time or datetime.now(UTC)
    return when.date().isoformat()


def _study_runs(
    context: dg.ScheduleEvaluationContext, wanted: Sequence[str], reason: str
) -> tuple[list[list[str]], str]:
    """The ranges covering the wanted studies (those whose run is already waiting left out: it
    fetches everything when it starts), and the reason tag's text."""
    waiting = waiting_partitions(context.instance)
    ranges = arrange_ranges(context.instance, [s for s in wanted if s not in waiting])
    queued = len(set(wanted) & waiting)
    return ranges, reason + (f"; {queued} already queued" if queued else "")


def _noted(context: dg.ScheduleEvaluationContext, refused: list[str]) -> None:
    for line in refused:
        context.log.warning(line)


@dg.schedule(
    name=DAILY_SCHEDULE,
    cron_schedule=SETTINGS.reconcile_cron,
    job_name=FULL_JOB,
    execution_timezone=SETTINGS.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Reloads the global tables and every study that can still change (or every study, "
    "with INVIVO_DAILY_RECONCILE=all): catches deletes, in-place edits and missed events. One run "
    "over a range of study partitions (a few only when some are already being loaded).",
)
def reconcile_daily(
    context: dg.ScheduleEvaluationContext, invivo_api: InVivoApiResource
) -> list[dg.RunRequest]:
    listed, refused = _list_studies(invivo_api)
    _noted(context, refused)
    registered = _sync_partitions(context, listed)
    plan = plan_daily(listed, registered, SETTINGS.daily_scope)
    day = _day(context)
    ranges, reason = _study_runs(context, plan.studies, plan.reason)
    requests: list[dg.RunRequest] = []
    for n, covered in enumerate(ranges):
        # The first run also reloads the global tables: one transaction, one run.
        requests.append(
            dg.RunRequest(
                run_key=f"reconcile:{day}:{covered[0]}",
                asset_selection=None if n == 0 else STUDY_KEYS,
                tags=range_tags(covered[0], covered[-1])
                | tags("reconcile", f"{reason} ({len(covered)} in this run)"),
            )
        )
    if not requests:
        requests.append(
            dg.RunRequest(
                run_key=f"reconcile:{day}:global",
                asset_selection=GLOBAL_KEYS,
                tags=tags("reconcile", "global tables"),
            )
        )
    return requests


@dg.schedule(
    name=WEEKLY_SCHEDULE,
    cron_schedule=SETTINGS.finished_cron,
    job_name=STUDY_JOB,
    execution_timezone=SETTINGS.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Reloads completed and canceled studies, which the daily reconcile skips (unless "
    "INVIVO_DAILY_RECONCILE=all, when this schedule has nothing to do). One run over a range.",
)
def refresh_finished_weekly(
    context: dg.ScheduleEvaluationContext, invivo_api: InVivoApiResource
) -> list[dg.RunRequest] | dg.SkipReason:
    if SETTINGS.daily_scope == "all":
        return dg.SkipReason("the daily reconcile reloads every study (INVIVO_DAILY_RECONCILE=all)")
    listed, refused = _list_studies(invivo_api)
    _noted(context, refused)
    registered = _sync_partitions(context, listed)
    day = _day(context)
    finished = plan_finished(listed, registered)
    ranges, reason = _study_runs(context, finished, "completed or canceled studies")
    if not ranges:
        return dg.SkipReason(
            f"no completed or canceled studies to reload ({len(finished)} already queued)"
            if finished
            else "no completed or canceled studies"
        )
    return [
        dg.RunRequest(
            run_key=f"finished:{day}:{covered[0]}",
            tags=range_tags(covered[0], covered[-1])
            | tags("weekly", f"{reason} ({len(covered)} in this run)"),
        )
        for covered in ranges
    ]


SCHEDULES = [reconcile_daily, refresh_finished_weekly]
