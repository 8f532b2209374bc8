"""Turning plans into Dagster run requests: a few runs over ranges of studies, not one per study.

Each run costs a process, a definitions import, a token and a turn behind the writer lock, so
the studies one tick (or one schedule evaluation) wants go into one run over a range of study
partitions. Dagster takes a range in the partitions' registration order, so ``arrange_ranges``
first moves the wanted studies to the end of that order when they are scattered
(``partition_keys``), then reads the ranges off it: exactly the wanted studies, nothing else.

A run that is queued but has not started yet will fetch everything that changed until it starts,
so another request for the same study partition (a second burst of events a few seconds later)
would only spend API requests: such partitions are skipped. Run keys make a retried tick (same
cursor) request nothing new: Dagster drops a run key a sensor has already used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from invivo_pipeline.assets.partitions import STUDY_PARTITIONS_NAME, study_partitions
from invivo_pipeline.automation.jobs import (
    FULL_JOB,
    GLOBAL_JOB,
    GLOBAL_KEYS,
    REASON_TAG,
    STUDY_JOB,
    SYNC_JOB,
    TRIGGER_TAG,
)
from invivo_pipeline.partition_keys import ranges_in_registered_order, tail_order, usable_keys

WAITING = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
]
IN_FLIGHT = [*WAITING, dg.DagsterRunStatus.STARTED]
PARTITION_TAG = "dagster/partition"
MAX_TAG_LENGTH = 200
STUDY_RUN_JOBS = frozenset({STUDY_JOB, FULL_JOB, SYNC_JOB})
"""Jobs whose runs cover study partitions."""


def _covered(tags: Mapping[str, str], order: Sequence[str], index: Mapping[str, int]) -> set[str]:
    """The study partitions a run covers: its partition tag, or its range read off ``order`` (the
    registered order, as Dagster will resolve it; ``index`` its positions). A gone end: none."""
    if PARTITION_TAG in tags:
        return {tags[PARTITION_TAG]}
    start, end = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start not in index or end not in index:
        return set()
    return set(order[index[start] : index[end] + 1])


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
        found |= _covered(run.tags, order, index)
    return found


def waiting_partitions(instance: dg.DagsterInstance) -> set[str]:
    """Study partitions with a run that has not started fetching yet."""
    return partitions_of_runs(instance, WAITING)


def waiting_global_keys(instance: dg.DagsterInstance) -> set[dg.AssetKey]:
    records = instance.get_run_records(dg.RunsFilter(job_name=GLOBAL_JOB, statuses=WAITING))
    keys: set[dg.AssetKey] = set()
    for record in records:
        keys |= set(record.dagster_run.asset_selection or GLOBAL_KEYS)
    return keys


def arrange_ranges(
    instance: dg.DagsterInstance,
    wanted: Sequence[str],
    name: str = STUDY_PARTITIONS_NAME,
) -> list[list[str]]:
    """The keys of each range of partitions that together cover exactly ``wanted``, in as few
    ranges (runs) as the instance allows, each in the order Dagster will resolve it.

    Wanted keys not registered yet are taken to be added after this call, at the end (a sensor
    result's partition requests, applied before its runs). Scattered wanted keys are moved to the
    end of the registered order, except those a queued or running run covers (moving them would
    change what that run loads): those stay, as ranges of their own.
    """
    registered = list(instance.get_dynamic_partitions(name))
    known = set(registered)
    order = registered + [k for k in dict.fromkeys(wanted) if k not in known]
    pinned = partitions_of_runs(instance, IN_FLIGHT, order) if name == STUDY_PARTITIONS_NAME else ()
    moved, order = tail_order(wanted, order, pinned)
    if move := [k for k in moved if k in known]:
        for key in move:
            instance.delete_dynamic_partition(name, key)
        instance.add_dynamic_partitions(name, move)
    index = {k: i for i, k in enumerate(order)}
    return [
        order[index[first] : index[last] + 1]
        for first, last in ranges_in_registered_order(wanted, order)
    ]


def range_tags(first: str, last: str) -> dict[str, str]:
    """The run tags selecting an inclusive range of partitions (``first == last``: one)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def tags(trigger: str, reason: str) -> dict[str, str]:
    return {TRIGGER_TAG: trigger, REASON_TAG: reason[:MAX_TAG_LENGTH]}


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
) -> tuple[list[dg.RunRequest], list[str]]:
    """Run requests for ``(study_id, reason)`` pairs and the global tables; and what was skipped
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
                job_name=STUDY_JOB,
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
