"""From a batch of stored webhook events to what must be refreshed. Pure: no Dagster, no I/O.

A burst of events (a technician uploads a day of measurements for 40 animals) becomes one refresh
per affected study and at most one for the global tables, never one per event. The cursor is the
store's arrival sequence number, so an event is acted on once even if its ``created_at`` is
older than events already seen, and a redelivered event (stored once) is never seen twice.

An event is only a claim by whoever holds the shared secret, so it never changes which studies
exist and no event can stop the sensor:

- an event the sensor cannot read (not JSON, nested deeper than ``MAX_DEPTH``, a reader that
  fails) is **quarantined** with its reason, and the cursor moves past it;
- an event naming a study that is not a registered partition (discovery has not listed it) is
  **held**, ``study.created`` included: no partition is ever made from an event's study id. Once
  discovery registers the study, the next tick acts on its held events; a study still unknown
  after ``HOLD_LIMIT`` has its events **dropped**. Nothing is lost by dropping: discovery loads a
  study in full the tick it first lists it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from invivo_pipeline.sources.invivo.webhooks.limits import MAX_DEPTH, nests_deeper_than
from invivo_pipeline.sources.invivo.webhooks.log_text import loggable
from invivo_pipeline.sources.invivo.webhooks.store import (
    DROPPED,
    HELD,
    QUARANTINED,
    SetAsideEvent,
    StoredEvent,
)
from invivo_pipeline.sources.invivo.webhooks.targets import EventTarget, target_of

HOLD_LIMIT = timedelta(days=7)
SHOWN_IN_SUMMARY = 3


@dataclass
class WebhookCursor:
    """The sequence number read up to, and the studies whose events were read while a run could
    not take them yet (``pending``, study → reason): events were still arriving, a study run was
    still waiting to start, or a run was loading that very study. They go into the next run, one
    run for all of them, instead of a run of their own per tick (issue 19). ``pending_runs``
    counts the ticks that asked for pending studies without a new event, which names their runs'
    keys. The counts of set-aside events ride along so that the Dagster UI's cursor shows them
    (they are not read back)."""

    seq: int = 0
    set_aside: dict[str, int] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    pending_runs: int = 0
    pending_since: float | None = None
    """When the studies now pending first waited (Unix time): a burst waits at most so long."""

    def to_json(self) -> str:
        pending = (
            {"pending": self.pending, "pending_since": self.pending_since} if self.pending else {}
        )
        runs = {"pending_runs": self.pending_runs} if self.pending_runs else {}
        return json.dumps({"seq": self.seq, **self.set_aside, **pending, **runs})

    @classmethod
    def from_json(cls, raw: str | None) -> WebhookCursor:
        """The cursor ``raw`` spells; a field that cannot be read costs only itself.

        Without a readable ``seq`` the sensor starts from the first stored event (a refresh of
        more than needed, never a lost event); a malformed pending field must not cost the seq,
        nor a malformed ``pending_runs`` the studies waiting for a run.
        """
        try:
            found = json.loads(raw) if raw else {}
            seq = int(found["seq"])
        except (ValueError, TypeError, KeyError):
            return cls()
        pending = found.get("pending")
        pending = {str(k): str(v) for k, v in pending.items()} if isinstance(pending, dict) else {}
        return cls(
            seq=seq,
            pending=pending,
            pending_runs=int(_number(found.get("pending_runs"), int) or 0),
            pending_since=_number(found.get("pending_since"), float) if pending else None,
        )


def _number(value: object, kind: type[int] | type[float]) -> float | None:
    """``value`` as ``kind``, or None when it is missing or not a number."""
    try:
        return kind(value) if value is not None else None  # type: ignore[arg-type]
    except (ValueError, TypeError, OverflowError):
        return None


class Unreadable(Exception):
    """A stored event the sensor cannot act on; the message is the quarantine reason."""


@dataclass
class WebhookPlan:
    first_seq: int
    last_seq: int
    events: int = 0
    studies: dict[str, Counter[str]] = field(default_factory=dict)
    """Study partition → the events that ask for its refresh, counted by type."""
    global_tables: set[str] = field(default_factory=set)
    delete_partitions: list[str] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    """Events that cannot be acted on, by reason (unknown type, no study in the payload)."""
    quarantined: list[SetAsideEvent] = field(default_factory=list)
    held: list[SetAsideEvent] = field(default_factory=list)
    """Events of this batch held until discovery registers their study."""
    released: list[SetAsideEvent] = field(default_factory=list)
    """Events held before whose study is now registered: acted on in this plan."""
    dropped: list[SetAsideEvent] = field(default_factory=list)

    def reason(self, study_id: str) -> str:
        counts = self.studies[study_id]
        return ", ".join(f"{n} {event}" for event, n in counts.most_common(3)) + (
            " …" if len(counts) > 3 else ""
        )

    def run_key_part(self) -> str:
        """Unique to this tick: the last new event's seq, or (a tick that only releases held
        events) the released events', which are released once."""
        if self.events:
            return str(self.last_seq)
        return f"released-{max(e.seq for e in self.released)}" if self.released else "none"

    def summary(self) -> str:
        parts = [
            f"{self.events} events (seq {self.first_seq}..{self.last_seq})"
            if self.events
            else "no new events"
        ]
        parts.append(f"{len(self.studies)} studies to refresh")
        if self.global_tables:
            parts.append(f"global tables {', '.join(sorted(self.global_tables))}")
        if self.ignored:
            parts.append(f"{sum(self.ignored.values())} ignored")
        if self.held:
            studies = len({e.study_id for e in self.held})
            parts.append(f"{len(self.held)} held for {studies} studies not registered yet")
        if self.released:
            parts.append(f"{len(self.released)} held events released")
        if self.dropped:
            parts.append(f"{len(self.dropped)} held events dropped ({self.dropped[0].reason})")
        if self.quarantined:
            shown = "; ".join(
                f"seq {e.seq} {loggable(e.event_id)}: {e.reason}"
                for e in self.quarantined[:SHOWN_IN_SUMMARY]
            )
            more = " …" if len(self.quarantined) > SHOWN_IN_SUMMARY else ""
            parts.append(f"{len(self.quarantined)} quarantined ({shown}{more})")
        return "; ".join(parts)


def read_target(stored: StoredEvent) -> EventTarget:
    """What the event asks for, or ``Unreadable`` saying why not (never quoting the payload)."""
    try:
        envelope = orjson.loads(stored.body)
    except orjson.JSONDecodeError as exc:
        raise Unreadable("body is not valid JSON") from exc
    if not isinstance(envelope, dict):
        raise Unreadable(f"body is a JSON {type(envelope).__name__}, not an object")
    payload = envelope.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    if nests_deeper_than(stored.body, MAX_DEPTH):
        raise Unreadable(f"payload nests deeper than {MAX_DEPTH} levels")
    try:
        return target_of(stored.event, payload)
    except Exception as exc:  # any reader failure quarantines this event, never the sensor
        raise Unreadable(f"{type(exc).__name__} while reading it") from exc


def _set_aside(
    stored: StoredEvent, state: str, reason: str, study_id: str | None, now: str
) -> SetAsideEvent:
    return SetAsideEvent(stored.seq, stored.event_id, stored.event, state, reason, study_id, now)


def plan_events(
    events: Iterable[StoredEvent],
    registered: Iterable[str],
    *,
    held: Iterable[SetAsideEvent] = (),
    now: datetime | None = None,
) -> WebhookPlan | None:
    """``None`` when there are no new events and no held event to release or drop."""
    now = now or datetime.now(UTC)
    stamp = now.isoformat(timespec="microseconds")
    batch = list(events)
    known = set(registered)
    released, dropped = _review_held(held, known, now, stamp)
    if not (batch or released or dropped):
        return None
    first, last = (batch[0].seq, batch[-1].seq) if batch else (0, 0)
    plan = WebhookPlan(first_seq=first, last_seq=last, events=len(batch))
    plan.released, plan.dropped = released, dropped
    for event in released:
        plan.studies.setdefault(event.study_id or "", Counter())[event.event] += 1
    deleted: set[str] = set()
    for stored in batch:
        try:
            target = read_target(stored)
        except Unreadable as exc:
            plan.quarantined.append(_set_aside(stored, QUARANTINED, str(exc), None, stamp))
            continue
        if target.study_id is None:
            plan.global_tables |= target.global_tables
            if target.problem:
                plan.ignored[target.problem] += 1
            continue
        if target.study_deleted:
            # Acted on whether registered or not: it can only remove a partition, never add one.
            plan.global_tables |= target.global_tables
            deleted.add(target.study_id)
            plan.studies.pop(target.study_id, None)
            continue
        if target.study_id not in known:
            reason = f"study {loggable(target.study_id)} is not a registered partition yet"
            plan.held.append(_set_aside(stored, HELD, reason, target.study_id, stamp))
            continue
        plan.global_tables |= target.global_tables
        # A study re-created after its deletion in the same batch is alive.
        deleted.discard(target.study_id)
        plan.studies.setdefault(target.study_id, Counter())[stored.event] += 1
    plan.delete_partitions = sorted(deleted & known)
    return plan


def _review_held(
    held: Iterable[SetAsideEvent], known: set[str], now: datetime, stamp: str
) -> tuple[list[SetAsideEvent], list[SetAsideEvent]]:
    """Held events whose study is registered now (released) or that waited too long (dropped)."""
    released, dropped = [], []
    days = HOLD_LIMIT.days
    for event in held:
        if event.study_id in known:
            released.append(event)
        elif now - datetime.fromisoformat(event.since) > HOLD_LIMIT:
            reason = f"study {loggable(event.study_id)} not listed by discovery within {days} days"
            dropped.append(
                SetAsideEvent(
                    event.seq, event.event_id, event.event, DROPPED, reason, event.study_id, stamp
                )
            )
    return released, dropped
