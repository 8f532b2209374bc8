"""Per-study resources are partitioned by study id; the partitions are discovered, not declared.

A run covers several partitions only as a *range*, and Dagster 1.13 resolves a range of dynamic
partitions in their **registration** order (``partition_keys[index(start):index(end) + 1]``), not
in any order of ours: a range built from the API's listing order selects the wrong studies, or
none, once the two orders differ (a sensor registered them first, a study was deleted and
re-created). Dagster has no run over an arbitrary key set (a ``RunRequest`` with an asset graph
subset becomes a backfill, which the single-run backfill policy splits into ranges again), so
every multi-study run here is built by ``ranges_in_registered_order``: ranges read off the
registered order, which cover exactly the wanted studies and nothing else. When the wanted
studies are scattered, ``tail_order`` moves them to the end of the registered order first so
that one range covers them (see ``automation.runs.arrange_ranges``).

Pure: no Dagster import, so the planners and the CLI use it as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

MAX_KEY_LENGTH = 255
"""Longer ids are refused: a key is a run tag, a URL segment in the UI and a log field."""
RESERVED_SUBSTRINGS = ("...",)
"""Dagster's partition range syntax (``a...b``); Dagster refuses it in static partition keys."""


def partition_key_problem(value: object) -> str | None:
    """Why an id the API sent cannot be a partition key, or ``None`` when it can.

    Dagster reads an empty range tag as unset (``Cannot have dagster/asset_partition_range_start
    or ..._end set without the other``) and a number as a non-string tag, so ids must be
    non-empty strings; control characters forge log lines and NUL cannot be stored in
    PostgreSQL text. A slash cannot travel in the ``/studies/{id}/...`` routes: servers decode
    ``%2F`` before routing (the simulator answers 404), so that study could never load, and its
    404 would fail every run it is in. Spaces, commas, ``..`` and non-ASCII letters are fine.
    """
    if not isinstance(value, str):
        return f"is a {type(value).__name__}, not a string"
    if not value.strip():
        return "is empty"
    if len(value) > MAX_KEY_LENGTH:
        return f"is {len(value)} characters long (at most {MAX_KEY_LENGTH})"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "contains a control character"
    if "/" in value or "\\" in value:
        return "contains a slash, which no /studies/{id}/... route can carry"
    if any(s in value for s in RESERVED_SUBSTRINGS):
        return "contains '...', Dagster's partition range syntax"
    return None


def usable_keys(values: Iterable[object], what: str = "study") -> tuple[list[str], list[str]]:
    """The ids that can be partition keys (order kept, duplicates dropped), and one line for each
    that cannot, naming it (``repr`` and cut short, so it cannot break the line it is in)."""
    kept: list[str] = []
    seen: set[str] = set()
    refused: list[str] = []
    for value in values:
        problem = partition_key_problem(value)
        if problem is not None:
            refused.append(f"{what} id {_shown(value)} skipped: it {problem}")
        elif value not in seen:
            seen.add(value)  # type: ignore[arg-type]
            kept.append(value)  # type: ignore[arg-type]
    return kept, refused


def _shown(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ranges_in_registered_order(
    wanted: Iterable[str], registered: Sequence[str]
) -> list[tuple[str, str]]:
    """The fewest inclusive ranges of ``registered`` (in its order) whose union is exactly the
    wanted keys that are registered. Pure."""
    want = set(wanted)
    found: list[tuple[str, str]] = []
    start: str | None = None
    previous: str | None = None
    for key in registered:
        if key in want:
            start = key if start is None else start
            previous = key
        elif start is not None and previous is not None:
            found.append((start, previous))
            start = None
    if start is not None and previous is not None:
        found.append((start, previous))
    return found


def tail_order(
    wanted: Iterable[str], registered: Sequence[str], pinned: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """Which keys to move (delete and re-add) so the wanted ones follow each other, and the
    registered order that results. Pure.

    Nothing moves when the wanted keys already form one range. Otherwise the wanted keys that
    are not ``pinned`` move to the end, in their registered order. Pinned keys belong to runs
    already queued or running, whose ranges Dagster resolves when they execute: a key never
    moves out of, or into, such a range, so those runs still load exactly their studies.
    """
    want = set(wanted)
    if len(ranges_in_registered_order(want, registered)) <= 1:
        return [], list(registered)
    hold = set(pinned)
    moved = [k for k in registered if k in want and k not in hold]
    if not moved:
        return [], list(registered)
    moving = set(moved)
    return moved, [k for k in registered if k not in moving] + moved
