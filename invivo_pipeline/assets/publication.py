"""Publishing the read copy after each successful Dagster run that changed the warehouse.

Dagster has no run-level success hook (a hook fires per step: the ingestion step succeeding while
the run's dbt step then fails would have published), so a sensor does it: every
``PUBLISH_INTERVAL_S`` seconds ``invivo_publish_for_readers`` looks at the runs that succeeded since
its cursor, and when one of them materialized a warehouse table (raw, staging or marts: the
ingestion jobs, a dbt run of the reports sensor, a Cytobank run, a run launched from the UI) and
the read copy is not of the warehouse as it is now, it launches one ``invivo_publish`` run. A
failed run is never looked at, so it publishes nothing. A burst of runs gives one publication; a
run ``invivo sync`` already published (it publishes in its own process) gives none.

The publication (``warehouse.publish``) queues on the writer lock like any writer, so it runs as
its own small run rather than inside the sensor's evaluation.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from invivo_pipeline.assets.partition_runs import TRIGGER_TAG
from invivo_pipeline.assets.warehouse_resource import WarehouseResource
from invivo_pipeline.warehouse import default_duckdb_path
from invivo_pipeline.warehouse.publish import WAREHOUSE_SCHEMAS, is_published, publish

PUBLISH_JOB = "invivo_publish"
PUBLISH_SENSOR = "invivo_publish_for_readers"
PUBLISH_INTERVAL_S = 30
_EVENTS_PAGE = 500
_RUNS_PER_TICK = 200


@dg.op(pool="duckdb_writer")
def publish_read_copy(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> None:
    """Copy the warehouse's raw, staging and mart tables to the read copy analysts open."""
    wh = warehouse.warehouse()
    done = publish(wh.path, lock_timeout=warehouse.lock_timeout_s, busy_timeout=wh.busy_timeout)
    if done.changed:
        context.log.info(
            f"published {done.tables} tables to {done.path} "
            f"({done.size_bytes / 1e6:.1f} MB in {done.seconds:.1f} s)"
        )
    else:
        context.log.info(f"{done.path} already holds the warehouse as it is: nothing to publish")


@dg.job(
    name=PUBLISH_JOB,
    description="Publishes the read copy analysts query (`<warehouse>.read.duckdb`): every raw, "
    "staging and mart table, renamed into place atomically.",
    executor_def=dg.in_process_executor,
)
def publish_job() -> None:
    publish_read_copy()


def wrote_warehouse(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether the run materialized a table of the warehouse (not only plots or reports)."""
    cursor = None
    while True:
        page = instance.get_records_for_run(
            run_id,
            cursor=cursor,
            of_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
            limit=_EVENTS_PAGE,
        )
        for record in page.records:
            key = record.event_log_entry.dagster_event.asset_key
            if key is not None and key.path[0] in WAREHOUSE_SCHEMAS:
                return True
        if not page.has_more:
            return False
        cursor = page.cursor


def _succeeded_since(instance: dg.DagsterInstance, since: float) -> Sequence[dg.RunRecord]:
    return instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.SUCCESS],
            updated_after=datetime.fromtimestamp(since, UTC) if since else None,
        ),
        order_by="update_timestamp",
        ascending=False,
        # One writer among them is enough to publish (the publication copies the warehouse as it
        # is then), so a first tick over a long history reads the newest runs only.
        limit=_RUNS_PER_TICK,
    )[::-1]


@dg.sensor(
    name=PUBLISH_SENSOR,
    job_name=PUBLISH_JOB,
    minimum_interval_seconds=PUBLISH_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a run that changed the warehouse succeeds, publishes the read copy "
    "analysts query while writers run (`invivo sql`). Failed runs publish nothing.",
)
def publish_after_writes(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    since = float(context.cursor) if context.cursor else 0.0
    runs = [
        r
        for r in _succeeded_since(context.instance, since)
        if r.dagster_run.job_name != PUBLISH_JOB
    ]
    cursor = str(max([since, *(r.update_timestamp.timestamp() for r in runs)]))
    writers = [r for r in runs if wrote_warehouse(context.instance, r.dagster_run.run_id)]
    if not writers:
        return dg.SensorResult(skip_reason="no successful run changed the warehouse", cursor=cursor)
    # Where the code location's warehouse resource (configured without a path) finds the file.
    path = default_duckdb_path()
    if is_published(path):
        return dg.SensorResult(
            skip_reason=f"the read copy already holds the warehouse as it is ({path})",
            cursor=cursor,
        )
    last = writers[-1].dagster_run
    context.log.info(f"{len(writers)} run(s) changed the warehouse, the last {last.run_id}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"publish-after-{last.run_id}",
                tags={TRIGGER_TAG: "publication", "invivo/after_run": last.run_id},
            )
        ],
        cursor=cursor,
    )
