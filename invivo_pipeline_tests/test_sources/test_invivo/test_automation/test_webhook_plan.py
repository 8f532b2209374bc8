"""From a batch of stored events to refreshes: one per study, however many events, and the
partition changes study events imply."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from invivo_pipeline.sources.invivo.automation import webhook_plan
from invivo_pipeline.sources.invivo.automation.webhook_plan import (
    HOLD_LIMIT,
    WebhookCursor,
    plan_events,
)
from invivo_pipeline.sources.invivo.webhooks.limits import MAX_DEPTH
from invivo_pipeline.sources.invivo.webhooks.store import StoredEvent

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "reference_examples.json"
EXAMPLES = {e["event"]: e["body"] for e in json.loads(FIXTURES.read_text())["webhooks"]}


def stored(seq: int, event: str, payload: dict) -> StoredEvent:
    body = json.dumps({"id": f"whe_{seq}", "event": event, "payload": payload}).encode()
    return StoredEvent(seq, f"whe_{seq}", event, None, "now", body)


def measurement(seq: int, study: str) -> StoredEvent:
    return stored(seq, "animal.measurement.created", {"id": f"mst_{seq}", "study": {"id": study}})


def test_a_burst_of_events_is_one_refresh_per_study():
    events = [measurement(n, "sdy_a") for n in range(1, 41)] + [measurement(41, "sdy_b")]
    events.append(stored(42, "animal.dosage.created", {"animal": {"study_id": "sdy_a"}}))

    plan = plan_events(events, registered=["sdy_a", "sdy_b"])

    assert plan is not None
    assert list(plan.studies) == ["sdy_a", "sdy_b"]
    assert plan.reason("sdy_a") == "40 animal.measurement.created, 1 animal.dosage.created"
    assert (plan.first_seq, plan.last_seq, plan.events) == (1, 42, 42)
    assert plan.global_tables == set() and plan.held == []


def test_no_events_no_plan():
    assert plan_events([], registered=[]) is None


def test_global_events_name_their_tables_only():
    events = [
        stored(1, "species.updated", EXAMPLES["species.updated"]["payload"]),
        stored(2, "user.created", EXAMPLES["user.created"]["payload"]),
        stored(3, "cage.deleted", EXAMPLES["cage.deleted"]["payload"]),
    ]

    plan = plan_events(events, registered=[])

    assert plan.global_tables == {"species", "users", "cages"}
    assert plan.studies == {}


def test_study_events_refresh_and_drop_but_never_add_partitions():
    events = [
        stored(1, "study.created", {"id": "sdy_new"}),
        stored(2, "study.updated", {"id": "sdy_old"}),
        stored(3, "animal.created", {"study": {"id": "sdy_unknown"}}),
        stored(4, "study.deleted", {"id": "sdy_gone"}),
        measurement(5, "sdy_gone"),
    ]

    plan = plan_events(events, registered=["sdy_old", "sdy_gone"])

    assert list(plan.studies) == ["sdy_old", "sdy_gone"]
    assert not hasattr(plan, "add_partitions")
    assert [(e.seq, e.study_id, e.state) for e in plan.held] == [
        (1, "sdy_new", "held"),
        (3, "sdy_unknown", "held"),
    ]
    assert plan.held[0].reason == "study sdy_new is not a registered partition yet"
    assert plan.delete_partitions == []
    assert plan.global_tables == {"studies"}


def test_a_deleted_study_is_dropped_and_not_refreshed():
    events = [measurement(1, "sdy_gone"), stored(2, "study.deleted", {"id": "sdy_gone"})]

    plan = plan_events(events, registered=["sdy_gone"])

    assert plan.studies == {}
    assert plan.delete_partitions == ["sdy_gone"]
    assert plan.global_tables == {"studies"}, "loading studies purges the deleted study's rows"


def test_events_that_cannot_be_acted_on_are_counted_not_guessed():
    events = [stored(1, "telepathy.created", {}), stored(2, "animal.sample.created", {})]

    plan = plan_events(events, registered=[])

    assert plan.studies == {} and plan.global_tables == set()
    assert sum(plan.ignored.values()) == 2
    assert "2 ignored" in plan.summary()


def test_the_cursor_round_trips_and_a_bad_one_starts_from_the_beginning():
    assert WebhookCursor.from_json(WebhookCursor(41).to_json()) == WebhookCursor(41)
    for raw in (None, "", "x", "{}", '{"seq": "abc"}'):
        assert WebhookCursor.from_json(raw) == WebhookCursor(0)


def test_a_malformed_optional_field_of_the_cursor_costs_only_itself():
    waiting = {"sdy_1": "events still arriving"}
    for bad in ({"pending_runs": "two"}, {"pending_runs": [1]}, {"pending_since": "soon"}):
        raw = json.dumps({"seq": 41, "pending": waiting, "pending_since": 5.0, **bad})

        cursor = WebhookCursor.from_json(raw)

        assert cursor.seq == 41 and cursor.pending == waiting, bad
    assert WebhookCursor.from_json(json.dumps({"seq": 41, "pending": "x"})) == WebhookCursor(41)


def poison(seq: int, depth: int = 1000) -> StoredEvent:
    """The 11 KB event that nests 1,000 levels (built as text: ``json`` cannot write it)."""
    nested = '{"animal":' * (depth - 1) + "{}" + "}" * (depth - 1)
    body = f'{{"id":"whe_{seq}","event":"animal.measurement.created","payload":{nested}}}'
    return StoredEvent(seq, f"whe_{seq}", "animal.measurement.created", None, "now", body.encode())


def test_unreadable_events_are_quarantined_with_their_reason_and_the_rest_acted_on():
    events = [
        measurement(1, "sdy_a"),
        poison(2),
        StoredEvent(3, "whe_3", "study.updated", None, "now", b"{not json"),
        StoredEvent(4, "whe_4", "study.updated", None, "now", b"[1]"),
        measurement(5, "sdy_b"),
    ]
    assert len(events[1].body) > 11_000

    plan = plan_events(events, registered=["sdy_a", "sdy_b"])

    assert list(plan.studies) == ["sdy_a", "sdy_b"]
    assert [(e.seq, e.state, e.reason) for e in plan.quarantined] == [
        (2, "quarantined", f"payload nests deeper than {MAX_DEPTH} levels"),
        (3, "quarantined", "body is not valid JSON"),
        (4, "quarantined", "body is a JSON list, not an object"),
    ]
    assert plan.last_seq == 5
    assert "3 quarantined (seq 2 whe_2: payload nests deeper" in plan.summary()


def test_an_event_a_reader_fails_on_is_quarantined_not_raised(monkeypatch):
    def broken(event, payload):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(webhook_plan, "target_of", broken)

    plan = plan_events([measurement(1, "sdy_a")], registered=["sdy_a"])

    assert plan.studies == {}
    assert plan.quarantined[0].reason == "RecursionError while reading it"


def test_a_flood_naming_unknown_studies_is_held_not_made_into_partitions_or_runs():
    ids = [f"sdy_fake_{n}" for n in range(2999)] + ["../../fake/0"]
    events = [measurement(n + 1, study) for n, study in enumerate(ids)]

    plan = plan_events(events, registered=["sdy_real"])

    assert plan.studies == {} and plan.delete_partitions == []
    assert len(plan.held) == 3000
    assert plan.held[-1].reason == "study '../../fake/0' is not a registered partition yet"
    assert "3000 held for 3000 studies not registered yet" in plan.summary()


def test_held_events_are_released_once_registered_and_dropped_after_the_bound():
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    first = plan_events([measurement(1, "sdy_late"), measurement(2, "sdy_never")], [], now=t0)
    held = first.held

    nothing_yet = plan_events([], ["sdy_other"], held=held, now=t0 + timedelta(days=1))
    later = plan_events([], ["sdy_late"], held=held, now=t0 + timedelta(days=2))
    too_late = plan_events([], [], held=held[1:], now=t0 + HOLD_LIMIT + timedelta(seconds=1))

    assert nothing_yet is None
    assert [e.seq for e in later.released] == [1] and later.dropped == []
    assert later.reason("sdy_late") == "1 animal.measurement.created"
    assert later.run_key_part() == "released-1"
    assert [(e.seq, e.state) for e in too_late.dropped] == [(2, "dropped")]
    assert too_late.dropped[0].reason == "study sdy_never not listed by discovery within 7 days"
    assert too_late.studies == {}


def test_the_cursor_carries_the_set_aside_counts_for_the_ui_but_reads_only_the_seq():
    cursor = WebhookCursor(12, {"held": 3000, "quarantined": 1})

    assert json.loads(cursor.to_json()) == {"seq": 12, "held": 3000, "quarantined": 1}
    assert WebhookCursor.from_json(cursor.to_json()) == WebhookCursor(12)
