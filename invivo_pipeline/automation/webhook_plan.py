"""From a batch of stored webhook events to what must be refreshed. Pure: no Dagster, no I/O.

A burst of events (a technician uploads a day of measurements for 40 animals) becomes one run per
affected study and at most one run for the global tables, never one run per event. The cursor is
the store's arrival sequence number, so an event is acted on once even if its ``created_at`` is
older than events already seen, and a redelivered event (stored once) is never seen twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from invivo_pipeline.webhooks.store import StoredEvent
from invivo_pipeline.webhooks.targets import target_of


@dataclass
class WebhookCursor:
    seq: int = 0

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq})

    @classmethod
    def from_json(cls, raw: str | None) -> WebhookCursor:
        if not raw:
            return cls()
        try:
            return cls(seq=int(json.loads(raw)["seq"]))
        except (ValueError, TypeError, KeyError):
            return cls()


@dataclass
class WebhookPlan:
    first_seq: int
    last_seq: int
    events: int = 0
    studies: dict[str, Counter[str]] = field(default_factory=dict)
    """Study partition → the events that ask for its refresh, counted by type."""
    global_tables: set[str] = field(default_factory=set)
    add_partitions: list[str] = field(default_factory=list)
    delete_partitions: list[str] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    """Events that cannot be acted on, by reason (unknown type, no study in the payload)."""

    def reason(self, study_id: str) -> str:
        counts = self.studies[study_id]
        return ", ".join(f"{n} {event}" for event, n in counts.most_common(3)) + (
            " …" if len(counts) > 3 else ""
        )

    def summary(self) -> str:
        parts = [f"{self.events} events (seq {self.first_seq}..{self.last_seq})"]
        parts.append(f"{len(self.studies)} studies to refresh")
        if self.global_tables:
            parts.append(f"global tables {', '.join(sorted(self.global_tables))}")
        if self.ignored:
            parts.append(f"{sum(self.ignored.values())} ignored")
        return "; ".join(parts)


def plan_events(events: Iterable[StoredEvent], registered: Iterable[str]) -> WebhookPlan | None:
    """``None`` when there are no events."""
    batch = list(events)
    if not batch:
        return None
    plan = WebhookPlan(first_seq=batch[0].seq, last_seq=batch[-1].seq, events=len(batch))
    deleted: set[str] = set()
    for stored in batch:
        target = target_of(stored.event, stored.payload)
        plan.global_tables |= target.global_tables
        if target.study_id is None:
            if target.problem:
                plan.ignored[target.problem] += 1
            continue
        if target.study_deleted:
            deleted.add(target.study_id)
            plan.studies.pop(target.study_id, None)
            continue
        # A study re-created after its deletion in the same batch is alive.
        deleted.discard(target.study_id)
        plan.studies.setdefault(target.study_id, Counter())[stored.event] += 1
    known = set(registered)
    plan.add_partitions = [s for s in plan.studies if s not in known]
    plan.delete_partitions = sorted(deleted & known)
    return plan
