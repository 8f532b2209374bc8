"""What the schedules refresh. Pure: the Dagster schedules list the studies and call these.

Events and probes can miss things: a webhook lost while the receiver was down, a record edited in
place (totals unchanged), a deleted study. The daily reconcile reloads from scratch and the
warehouse rewrites only what differs, so it costs API requests, not warehouse churn:

- ``active`` (default): the global tables (loading ``studies`` purges deleted studies) and every
  study that is not completed or canceled;
- ``all``: the global tables and every study partition (what ``invivo sync`` loads).

Either way it is one run of ``invivo_ingest`` over a range of study partitions, in one
transaction (``runs.arrange_ranges`` makes the studies one range), not one run per study.
Completed and canceled studies rarely change, so with ``active`` they are reloaded weekly instead
(again one run), which on a mature tenant (most studies finished) saves most of the daily API
budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from invivo_pipeline.sources.invivo.automation.discovery import ListedStudy


@dataclass
class DailyPlan:
    studies: list[str] = field(default_factory=list)
    """Study partitions to reload, with the global tables."""
    reason: str = ""


def plan_daily(listed: Sequence[ListedStudy], registered: Sequence[str], scope: str) -> DailyPlan:
    """The registered studies to reload, in listing order (the run's order is the registry's)."""
    known = set(registered)
    if scope == "all":
        return DailyPlan([s.id for s in listed if s.id in known], "every study")
    return DailyPlan(
        [s.id for s in listed if not s.finished and s.id in known], "studies that can still change"
    )


def plan_finished(listed: Sequence[ListedStudy], registered: Sequence[str]) -> list[str]:
    known = set(registered)
    return [s.id for s in listed if s.finished and s.id in known]
