"""Runs over ranges of dynamic partitions, for any source: the tags that select a range, the
ranges that cover a wanted key set, and keeping a partitions definition in line with a listing.

Dagster takes a range in the partitions' registration order, so ``arrange_ranges`` first moves
the wanted keys to the end of that order when they are scattered (``core.partition_keys``), then
reads the ranges off it: exactly the wanted keys, nothing else.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from invivo_pipeline.core.partition_keys import ranges_in_registered_order, tail_order

WAITING = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
]
IN_FLIGHT = [*WAITING, dg.DagsterRunStatus.STARTED]
PARTITION_TAG = "dagster/partition"
MAX_TAG_LENGTH = 200
TRIGGER_TAG = "invivo/trigger"
REASON_TAG = "invivo/reason"


def covered_partitions(
    tags: Mapping[str, str], order: Sequence[str], index: Mapping[str, int]
) -> set[str]:
    """The partitions a run covers: its partition tag, or its range read off ``order`` (the
    registered order, as Dagster will resolve it; ``index`` its positions). A gone end: none."""
    if PARTITION_TAG in tags:
        return {tags[PARTITION_TAG]}
    start, end = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start not in index or end not in index:
        return set()
    return set(order[index[start] : index[end] + 1])


def register_partitions(instance: dg.DagsterInstance, name: str, keys: Sequence[str]) -> None:
    """Add new keys; drop partitions the source no longer lists (a run of one would 404).

    New ones are appended in the order given; a range is taken in the registered order, so what a
    run selects is read off ``get_dynamic_partitions`` afterwards, never off ``keys``."""
    known = instance.get_dynamic_partitions(name)
    for key in [k for k in known if k not in set(keys)]:
        instance.delete_dynamic_partition(name, key)
    if new := [k for k in keys if k not in set(known)]:
        instance.add_dynamic_partitions(name, new)


def arrange_ranges(
    instance: dg.DagsterInstance,
    wanted: Sequence[str],
    name: str,
    *,
    pinned: Collection[str] = (),
) -> list[list[str]]:
    """The keys of each range of partitions that together cover exactly ``wanted``, in as few
    ranges (runs) as the instance allows, each in the order Dagster will resolve it.

    Wanted keys not registered yet are taken to be added after this call, at the end (a sensor
    result's partition requests, applied before its runs). Scattered wanted keys are moved to the
    end of the registered order, except ``pinned`` ones (those a queued or running run covers:
    moving them would change what that run loads): those stay, as ranges of their own.
    """
    registered = list(instance.get_dynamic_partitions(name))
    known = set(registered)
    order = registered + [k for k in dict.fromkeys(wanted) if k not in known]
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
