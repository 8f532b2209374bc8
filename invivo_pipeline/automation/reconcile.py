"""What the schedules refresh. Pure: the Dagster schedules list the studies and call these.

Events and probes can miss things: a webhook lost while the receiver was down, a record edited in
place (totals unchanged), a deleted study. The daily reconcile reloads from scratch and the
warehouse rewrites only what differs, so it costs API requests, not warehouse churn:

- ``active`` (default): the global tables (loading ``studies`` purges deleted studies) and every
  study that is not completed or canceled, one run each;
- ``all``: one run of ``invivo_ingest`` over every study partition, in one transaction (what
  ``invivo sync`` does).

Completed and canceled studies rarely change, so with ``active`` they are reloaded weekly instead,
which on a mature tenant (most studies finished) saves most of the daily API budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from invivo_pipeline.automation.discovery import ListedStudy


@dataclass
class DailyPlan:
    partition_range: tuple[str, str] | None = None
    """``all``: one run over this inclusive range of partitions."""
    globals_run: bool = False
    """A run of the global tables alone."""
    studies: list[str] = field(default_factory=list)
    """``active``: one run per study partition."""


def plan_daily(listed: Sequence[ListedStudy], registered: Sequence[str], scope: str) -> DailyPlan:
    """``registered`` in the partition set's order (the order a range is taken in)."""
    if scope == "all":
        if registered:
            return DailyPlan(partition_range=(registered[0], registered[-1]))
        return DailyPlan(globals_run=True)
    known = set(registered)
    return DailyPlan(
        globals_run=True, studies=[s.id for s in listed if not s.finished and s.id in known]
    )


def plan_finished(listed: Sequence[ListedStudy], registered: Sequence[str]) -> list[str]:
    known = set(registered)
    return [s.id for s in listed if s.finished and s.id in known]
