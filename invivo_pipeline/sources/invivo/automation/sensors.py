"""The two sensors that keep the warehouse fresh. Both are RUNNING by default, so ``dagster dev``
(webserver and daemon) reacts with no manual step; stop either in the UI to pause it.

- ``invivo_study_discovery`` lists the studies every ``INVIVO_SENSOR_INTERVAL_S`` seconds and, when
  due, probes the in-progress ones (``discovery`` has the logic and its request cost);
- ``invivo_webhook_events`` reads the events the receiver stored since its cursor and refreshes the
  study partitions (and global tables) they name (``webhook_plan``). It makes no API request.

Everything here is glue: read the instance, call a planner, build the result.
"""

from __future__ import annotations

import time
from datetime import datetime

import dagster as dg

from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.sources.invivo.api_resource import InVivoApiResource
from invivo_pipeline.sources.invivo.automation.discovery import (
    DiscoveryCursor,
    DiscoveryPlan,
    discover,
)
from invivo_pipeline.sources.invivo.automation.jobs import (
    GLOBAL_KEYS,
    JOBS,
    STUDY_FOLLOW_JOB,
    STUDY_KEYS,
)
from invivo_pipeline.sources.invivo.automation.runs import (
    build_requests,
    running_partitions,
    sensor_result,
    study_run_waiting,
    waiting_partitions,
)
from invivo_pipeline.sources.invivo.automation.settings import AutomationSettings
from invivo_pipeline.sources.invivo.automation.webhook_plan import (
    WebhookCursor,
    WebhookPlan,
    plan_events,
)
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.partitions import STUDY_PARTITIONS_NAME
from invivo_pipeline.sources.invivo.webhooks.store import (
    HELD,
    EventStore,
    StoredEvent,
    webhook_db_path,
)

SETTINGS = AutomationSettings.from_env()
DISCOVERY_SENSOR = "invivo_study_discovery"
WEBHOOK_SENSOR = "invivo_webhook_events"
DISCOVERY_GLOBALS = [k for k in GLOBAL_KEYS if k.path[-1] in ("studies", "cages")]
"""What a new, changed or vanished study changes among the global tables."""


def every(seconds: int) -> int:
    """Dagster's ``minimum_interval_seconds`` for a sensor meant to tick every ``seconds``.

    The daemon checks sensors once per loop (at most every 5 s) and measures the interval from the
    previous tick's start, which comes a moment after that loop's check. Asked for exactly 5 s, the
    next loop's check comes a few milliseconds short of it whenever the loop ran on time, and the
    tick waits a whole loop more (docs/performance.md: a 5 s sensor ticked 9-10 s apart in 3 of 16
    gaps on an idle machine). A second's margin keeps the tick on the loop it was meant for.
    """
    return max(1, seconds - 1)


def _discover(
    api: InVivoApiResource, cursor: DiscoveryCursor, inst: dg.DagsterInstance
) -> DiscoveryPlan:
    config = api.client_config()
    registered = inst.get_dynamic_partitions(STUDY_PARTITIONS_NAME)
    # "Loaded" means the first per-study table has a materialization for the partition.
    materialized = inst.get_materialized_partitions(STUDY_KEYS[0])

    async def tick() -> DiscoveryPlan:
        async with InVivoClient(config) as client:
            return await discover(
                client,
                cursor,
                registered=registered,
                materialized=materialized,
                probe_resources=SETTINGS.probe_resources,
                probe_interval_s=SETTINGS.probe_interval_s,
                now=time.time(),
            )

    return run_sync(tick())


@dg.sensor(
    name=DISCOVERY_SENSOR,
    minimum_interval_seconds=every(SETTINGS.discovery_interval_s),
    default_status=dg.DefaultSensorStatus.RUNNING,
    jobs=JOBS,
    description="Lists the studies: registers new study partitions and refreshes new, updated and "
    "vanished studies; probes in-progress studies' list totals for new measurements, doses, "
    "observations and samples. A quiet tick costs ceil(studies/100) + 1 requests (+ 4 per "
    "in-progress study probed: at most 100 a tick, a round resuming where the last tick stopped) "
    "and launches nothing. The studies a tick refreshes go into one run.",
)
def study_discovery(
    context: dg.SensorEvaluationContext, invivo_api: InVivoApiResource
) -> dg.SensorResult:
    cursor = DiscoveryCursor.from_json(context.cursor)
    plan = _discover(invivo_api, cursor, context.instance)
    if plan.refresh:
        plan.defer(running_partitions(context.instance), cursor)
    requests, skipped = build_requests(
        context.instance,
        trigger="discovery",
        key=str(plan.cursor.tick),
        studies=[(r.study_id, r.reason) for r in plan.refresh],
        global_keys=DISCOVERY_GLOBALS if plan.refresh_globals else (),
    )
    summary = plan.summary() + (f"; already queued: {', '.join(skipped)}" if skipped else "")
    context.log.info(summary)
    return sensor_result(
        requests=requests,
        add=plan.add_partitions,
        delete=plan.delete_partitions,
        cursor=plan.cursor.to_json(),
        summary=summary,
    )


@dg.sensor(
    name=WEBHOOK_SENSOR,
    minimum_interval_seconds=every(SETTINGS.webhook_interval_s),
    default_status=dg.DefaultSensorStatus.RUNNING,
    jobs=JOBS,
    description="Reads the webhook events stored by `invivo webhooks serve` (INVIVO_WEBHOOK_DB) "
    "after its cursor and refreshes only the study partitions and global tables they name. "
    "Events naming a study discovery has not registered are held until it is (dropped after 7 "
    "days); events it cannot read are quarantined (`invivo webhooks held`, `invivo webhooks "
    "quarantined`). A burst's studies wait for its last events, for a queued run to start and "
    "for the run loading them to end, then go into one run. Makes no API request.",
)
def webhook_events(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    cursor = WebhookCursor.from_json(context.cursor)
    store = EventStore(webhook_db_path(), create=False)
    registered = context.instance.get_dynamic_partitions(STUDY_PARTITIONS_NAME)
    try:
        events = store.since(cursor.seq, SETTINGS.max_events_per_tick)
        held = store.set_aside(HELD)
        plan = plan_events(events, registered, held=held)
        if plan is not None:
            store.record_set_aside(
                plan.quarantined + plan.held,
                released=[e.seq for e in plan.released],
                dropped=plan.dropped,
            )
            cursor = WebhookCursor(
                max(cursor.seq, plan.last_seq),
                store.set_aside_counts(),
                cursor.pending,
                cursor.pending_runs,
                cursor.pending_since,
            )
    finally:
        store.close()
    if plan is None and not cursor.pending:
        where = "" if store.exists() else f" (no event store at {store.path} yet)"
        return dg.SensorResult(
            skip_reason=f"no events after seq {cursor.seq}{where}",
            cursor=context.cursor or cursor.to_json(),
        )
    key = plan.run_key_part() if plan is not None else "none"
    if key == "none":  # no new or released event: the studies earlier ticks left pending
        key = f"pending-{cursor.seq}-{cursor.pending_runs}"
        cursor.pending_runs += 1
    wanted = _studies_to_refresh(cursor.pending, plan, set(registered))
    now = time.time()
    wanted, cursor.pending = _now_and_later(context.instance, wanted, cursor, events, now)
    cursor.pending_since = (cursor.pending_since or now) if cursor.pending else None
    keys = [k for k in GLOBAL_KEYS if plan is not None and k.path[-1] in plan.global_tables]
    requests, skipped = build_requests(
        context.instance,
        trigger="webhook",
        key=key,
        studies=list(wanted.items()),
        global_keys=keys,
        study_job=STUDY_FOLLOW_JOB,
    )
    summary = plan.summary() if plan is not None else "no new events"
    if cursor.pending:
        summary += f"; {len(cursor.pending)} studies wait for the next run"
    summary += f"; already queued: {', '.join(skipped)}" if skipped else ""
    if plan is not None and (plan.quarantined or plan.dropped):
        context.log.warning(summary)
    else:
        context.log.info(summary)
    return sensor_result(
        requests=requests,
        delete=plan.delete_partitions if plan is not None else (),
        cursor=cursor.to_json(),
        summary=summary,
    )


SETTLE_AT_MOST_S = 15
"""How long a burst that never pauses waits before its studies get a run anyway."""


def _now_and_later(
    instance: dg.DagsterInstance,
    wanted: dict[str, str],
    cursor: WebhookCursor,
    events: list[StoredEvent],
    now: float,
) -> tuple[dict[str, str], dict[str, str]]:
    """The studies to request a run for now, and those that wait in the cursor for a later tick
    (study → reason each), so that a burst becomes one run, not one run per tick or per study."""
    if not wanted:
        return {}, {}
    settle = SETTINGS.webhook_settle_s
    if (
        settle
        and events
        and len(events) < SETTINGS.max_events_per_tick
        and now - datetime.fromisoformat(events[-1].received_at).timestamp() < settle
        and now - (cursor.pending_since or now) < SETTLE_AT_MOST_S
    ):
        # Events are still arriving: the rest of the burst is likely a second away.
        return {}, wanted
    if study_run_waiting(instance):
        # A study run is still waiting for the writer pool: these studies wait for the first
        # tick after it starts and then go into one run together (those the waiting run covers
        # need nothing more: it fetches after these events).
        covered = waiting_partitions(instance)
        return {}, {s: r for s, r in wanted.items() if s not in covered}
    # Studies a run is loading now wait for it to end: a run requested for them now would be a
    # run of its own for each (that run's range cannot move), and this way they go into the
    # next run with whatever else is pending by then.
    running = running_partitions(instance)
    return (
        {s: r for s, r in wanted.items() if s not in running},
        {s: r for s, r in wanted.items() if s in running},
    )


def _studies_to_refresh(
    pending: dict[str, str], plan: WebhookPlan | None, registered: set[str]
) -> dict[str, str]:
    """The studies earlier ticks left pending (still registered, not deleted by these events)
    and those these events name, with their reasons."""
    deleted = set(plan.delete_partitions) if plan is not None else set()
    wanted = {s: r for s, r in pending.items() if s in registered and s not in deleted}
    if plan is not None:
        wanted |= {study_id: plan.reason(study_id) for study_id in plan.studies}
    return wanted


SENSORS = [study_discovery, webhook_events]
