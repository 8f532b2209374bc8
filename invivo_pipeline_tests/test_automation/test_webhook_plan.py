"""From a batch of stored events to refreshes: one per study, however many events, and the
partition changes study events imply."""

from __future__ import annotations

import json
from pathlib import Path

from invivo_pipeline.automation.webhook_plan import WebhookCursor, plan_events
from invivo_pipeline.webhooks.store import StoredEvent

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reference_examples.json"
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
    assert plan.global_tables == set() and plan.add_partitions == []


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


def test_study_events_add_refresh_and_drop_partitions():
    events = [
        stored(1, "study.created", {"id": "sdy_new"}),
        stored(2, "study.updated", {"id": "sdy_old"}),
        stored(3, "animal.created", {"study": {"id": "sdy_unknown"}}),
        stored(4, "study.deleted", {"id": "sdy_gone"}),
        measurement(5, "sdy_gone"),
    ]

    plan = plan_events(events, registered=["sdy_old", "sdy_gone"])

    assert list(plan.studies) == ["sdy_new", "sdy_old", "sdy_unknown", "sdy_gone"]
    assert plan.add_partitions == ["sdy_new", "sdy_unknown"]
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
