"""Turning plans into Dagster run requests: a few runs over ranges of studies, not one per study.

Each run costs a process, a definitions import, a token and a turn behind the writer lock, so
the studies one tick (or one schedule evaluation) wants go into one run over a range of study
partitions. Dagster takes a range in the partitions' registration order, so ``arrange_ranges``
first moves the wanted studies to the end of that order when they are scattered
(``core.partition_keys``), then reads the ranges off it: exactly the wanted studies, nothing else.

A run that is queued but has not started yet will fetch everything that changed until it starts,
so another request for the same study partition (a second burst of events a few seconds later)
would only spend API requests: such partitions are skipped. Run keys make a retried tick (same
cursor) request nothing new: Dagster drops a run key a sensor has already used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence

import dagster as dg

from invivo_pipeline.assets import partition_runs
from invivo_pipeline.assets.partition_runs import (
    IN_FLIGHT,
    WAITING,
    covered_partitions,
    range_tags,
    tags,
)
from invivo_pipeline.core.partition_keys import usable_keys
from invivo_pipeline.sources.invivo.automation.jobs import (
    FULL_JOB,
    GLOBAL_JOB,
    GLOBAL_KEYS,
    STUDY_FOLLOW_JOB,
    STUDY_JOB,
    SYNC_JOB,
)
from invivo_pipeline.sources.invivo.partitions import STUDY_PARTITIONS_NAME, study_partitions

STUDY_RUN_JOBS = frozenset({STUDY_JOB, STUDY_FOLLOW_JOB, FULL_JOB, SYNC_JOB})
"""Jobs whose runs cover study partitions."""


def partitions_of_runs(
    instance: dg.DagsterInstance,
    statuses: Sequence[dg.DagsterRunStatus],
    order: Sequence[str] | None = None,
) -> set[str]:
    """Study partitions covered by runs in ``statuses`` of the jobs that load studies."""
    records = instance.get_run_records(dg.RunsFilter(statuses=list(statuses)))
    runs = [r.dagster_run for r in records if r.dagster_run.job_name in STUDY_RUN_JOBS]
    if not runs:
        return set()
    if order is None:
        order = list(instance.get_dynamic_partitions(STUDY_PARTITIONS_NAME))
    index = {key: i for i, key in enumerate(order)}
    found: set[str] = set()
    for run in runs:
        found |= covered_partitions(run.tags, order, index)
    return found


def waiting_partitions(instance: dg.DagsterInstance) -> set[str]:
    """Study partitions with a run that has not started fetching yet."""
    return partitions_of_runs(instance, WAITING)


def running_partitions(instance: dg.DagsterInstance) -> set[str]:
    """Study partitions with a run under way: it may have fetched them before their latest
    change, but a run requested for them now would be one run a study (``arrange_ranges`` cannot
    move them), so their sensor asks again once that run has ended."""
    return partitions_of_runs(instance, [dg.DagsterRunStatus.STARTED])


def study_run_waiting(instance: dg.DagsterInstance) -> bool:
    """Whether a run of a job that loads studies is queued or starting: it will take the writer
    pool before any run requested now, so a new request can wait for it to start."""
    records = instance.get_run_records(dg.RunsFilter(statuses=WAITING))
    return any(r.dagster_run.job_name in STUDY_RUN_JOBS for r in records)


def waiting_global_keys(instance: dg.DagsterInstance) -> set[dg.AssetKey]:
    records = instance.get_run_records(dg.RunsFilter(job_name=GLOBAL_JOB, statuses=WAITING))
    keys: set[dg.AssetKey] = set()
    for record in records:
        keys |= set(record.dagster_run.asset_selection or GLOBAL_KEYS)
    return keys


def arrange_ranges(
    instance: dg.DagsterInstance, wanted: Sequence[str], name: str = STUDY_PARTITIONS_NAME
) -> list[list[str]]:
    """``partition_runs.arrange_ranges`` for study partitions, keeping in place those a queued or
    running run covers."""
    registered = list(instance.get_dynamic_partitions(name))
    known = set(registered)
    order = registered + [k for k in dict.fromkeys(wanted) if k not in known]
    pinned = partitions_of_runs(instance, IN_FLIGHT, order)
    return partition_runs.arrange_ranges(instance, wanted, name, pinned=pinned)


def _reason(studies: Collection[str], reasons: dict[str, str]) -> str:
    """``new study`` for one study; ``3 studies: new study (2), probe: … (1)`` for several."""
    mine = [reasons[s] for s in studies]
    if len(mine) == 1:
        return mine[0]
    counted = Counter(mine)
    return f"{len(mine)} studies: " + ", ".join(f"{r} ({n})" for r, n in counted.items())


def build_requests(
    instance: dg.DagsterInstance,
    *,
    trigger: str,
    key: str,
    studies: Sequence[tuple[str, str]],
    global_keys: Iterable[dg.AssetKey] = (),
    study_job: str = STUDY_JOB,
) -> tuple[list[dg.RunRequest], list[str]]:
    """Run requests (``study_job`` for the studies) for ``(study_id, reason)`` pairs and the global
    tables; and what was skipped
    (studies whose run is already waiting, ids that cannot be partition keys, ``global``).
    ``key`` makes the run keys of one tick. The studies go into as few runs as
    ``arrange_ranges`` allows: one, unless some of them are covered by a run already running."""
    waiting = waiting_partitions(instance) if studies else set()
    skipped = [s for s, _ in studies if s in waiting]
    wanted, refused = usable_keys(s for s, _ in studies if s not in waiting)
    reasons: dict[str, str] = {}
    for study_id, reason in studies:
        reasons.setdefault(study_id, reason)
    requests: list[dg.RunRequest] = []
    for covered in arrange_ranges(instance, wanted) if wanted else []:
        requests.append(
            dg.RunRequest(
                run_key=f"{trigger}:{key}:{covered[0]}",
                job_name=study_job,
                tags=range_tags(covered[0], covered[-1]) | tags(trigger, _reason(covered, reasons)),
            )
        )
    wanted_globals = set(global_keys)
    if wanted_globals:
        missing = wanted_globals - waiting_global_keys(instance)
        if missing:
            selection = sorted(missing, key=lambda k: k.to_user_string())
            names = ", ".join(k.path[-1] for k in selection)
            requests.append(
                dg.RunRequest(
                    run_key=f"{trigger}:{key}:global",
                    job_name=GLOBAL_JOB,
                    asset_selection=selection,
                    tags=tags(trigger, names),
                )
            )
        else:
            skipped.append("global")
    return requests, skipped + refused


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
