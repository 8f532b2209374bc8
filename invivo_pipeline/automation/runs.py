"""Turning plans into Dagster run requests, without asking twice for the same work.

A run that is queued but has not started yet will fetch everything that changed until it starts,
so another request for the same study partition (a second burst of events a few seconds later)
would only spend API requests: such partitions are skipped. Run keys make a retried tick (same
cursor) request nothing new: Dagster drops a run key a sensor has already used.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg

from invivo_pipeline.assets.partitions import study_partitions
from invivo_pipeline.automation.jobs import (
    GLOBAL_JOB,
    GLOBAL_KEYS,
    REASON_TAG,
    STUDY_JOB,
    TRIGGER_TAG,
)

WAITING = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
]
PARTITION_TAG = "dagster/partition"
MAX_TAG_LENGTH = 200


def waiting_partitions(instance: dg.DagsterInstance) -> set[str]:
    """Study partitions with a run of the study job that has not started fetching yet."""
    records = instance.get_run_records(dg.RunsFilter(job_name=STUDY_JOB, statuses=WAITING))
    return {
        r.dagster_run.tags[PARTITION_TAG] for r in records if PARTITION_TAG in r.dagster_run.tags
    }


def waiting_global_keys(instance: dg.DagsterInstance) -> set[dg.AssetKey]:
    records = instance.get_run_records(dg.RunsFilter(job_name=GLOBAL_JOB, statuses=WAITING))
    keys: set[dg.AssetKey] = set()
    for record in records:
        keys |= set(record.dagster_run.asset_selection or GLOBAL_KEYS)
    return keys


def _tags(trigger: str, reason: str) -> dict[str, str]:
    return {TRIGGER_TAG: trigger, REASON_TAG: reason[:MAX_TAG_LENGTH]}


def build_requests(
    instance: dg.DagsterInstance,
    *,
    trigger: str,
    key: str,
    studies: Sequence[tuple[str, str]],
    global_keys: Iterable[dg.AssetKey] = (),
) -> tuple[list[dg.RunRequest], list[str]]:
    """Run requests for ``(study_id, reason)`` pairs and the global tables; and what was skipped
    because an equivalent run is already waiting. ``key`` makes the run keys of one tick."""
    waiting = waiting_partitions(instance) if studies else set()
    requests: list[dg.RunRequest] = []
    skipped: list[str] = []
    for study_id, reason in studies:
        if study_id in waiting:
            skipped.append(study_id)
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"{trigger}:{key}:{study_id}",
                job_name=STUDY_JOB,
                partition_key=study_id,
                tags=_tags(trigger, reason),
            )
        )
    wanted = set(global_keys)
    if wanted:
        missing = wanted - waiting_global_keys(instance)
        if missing:
            selection = sorted(missing, key=lambda k: k.to_user_string())
            names = ", ".join(k.path[-1] for k in selection)
            requests.append(
                dg.RunRequest(
                    run_key=f"{trigger}:{key}:global",
                    job_name=GLOBAL_JOB,
                    asset_selection=selection,
                    tags=_tags(trigger, names),
                )
            )
        else:
            skipped.append("global")
    return requests, skipped


def partition_requests(
    add: Sequence[str], delete: Sequence[str]
) -> list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest]:
    found: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if add:
        found.append(study_partitions.build_add_request(list(add)))
    if delete:
        found.append(study_partitions.build_delete_request(list(delete)))
    return found


def sensor_result(
    *,
    requests: list[dg.RunRequest],
    add: Sequence[str] = (),
    delete: Sequence[str] = (),
    cursor: str,
    summary: str,
) -> dg.SensorResult:
    """Partition changes are applied before the run requests, so a new study's run can target it."""
    partitions = partition_requests(add, delete)
    if requests:
        return dg.SensorResult(
            run_requests=requests, dynamic_partitions_requests=partitions, cursor=cursor
        )
    return dg.SensorResult(
        skip_reason=summary, dynamic_partitions_requests=partitions, cursor=cursor
    )
