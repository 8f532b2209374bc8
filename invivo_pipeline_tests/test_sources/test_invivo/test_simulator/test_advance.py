"""Letting time pass in the simulated tenant: a new day of records in every in-progress study,
terminations updated in place, study ``updated_at`` untouched, and the day's webhook events
delivered with the shared secret. These tests build their own worlds: advancing mutates one."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from invivo_pipeline.sources.invivo.simulator.generate.advance import LIVED, advance
from invivo_pipeline.sources.invivo.simulator.generate.world import World, WorldConfig, build_world
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import SimulatorSettings
from invivo_pipeline.sources.invivo.simulator.serve.webhook_emitter import SECRET_HEADER, deliver
from invivo_pipeline.sources.invivo.webhooks.server import ReceiverServer
from invivo_pipeline.sources.invivo.webhooks.store import EventStore
from invivo_pipeline.sources.invivo.webhooks.targets import resource_of
from invivo_pipeline_tests.support.simulator_api import api_client, fetch_all

SMALL = WorldConfig(seed=5, studies=5, animals_per_study=12, days=6)
ROOT = Path(__file__).resolve().parents[4]


def _in_progress(world: World) -> list[str]:
    return [s.id for s in world.studies if s.status == "in_progress"]


def test_a_day_adds_exactly_the_reported_records_to_in_progress_studies_only():
    world = build_world(SMALL)
    before = {name: Counter(r.keys["study_id"] for r in world.records(name)) for name in LIVED}

    change = advance(world, 1)

    created = change.created()
    assert created["measurements"] > 0 and created["dosages"] > 0
    for name in LIVED:
        after = Counter(r.keys["study_id"] for r in world.records(name))
        grown = {s for s in after if after[s] != before[name][s]}
        assert grown <= set(_in_progress(world))
        assert sum(after.values()) - sum(before[name].values()) == created[name]
    assert world.days_advanced == 1
    assert change.today.isoformat() == "2026-11-03"


def test_new_records_keep_each_study_in_one_block_in_listing_order():
    world = build_world(SMALL)
    advance(world, 3)

    for name in LIVED:
        studies = [r.keys["study_id"] for r in world.records(name)]
        blocks = [s for i, s in enumerate(studies) if i == 0 or studies[i - 1] != s]
        assert len(blocks) == len(set(blocks)), f"{name}: a study's records are split"


def test_studies_do_not_change_so_only_a_probe_or_an_event_can_tell():
    world = build_world(SMALL)
    studies = [r.raw for r in world.records("studies")]

    advance(world, 2)

    assert [r.raw for r in world.records("studies")] == studies


def test_a_terminated_animal_is_updated_in_every_record_that_embeds_it():
    world = build_world(SMALL)
    change = advance(world, 10)
    terminated = [c.record.body for c in change.changes if c.event == "animal.updated"]
    assert terminated, "ten days of a study end some animals"

    animal = terminated[0]
    assert animal["terminated_at"] is not None
    listed = world.get("animals", animal["id"])
    assert listed is not None and listed.body == animal
    embedding = [
        r for name in LIVED for r in world.records(name) if r.keys["animal_id"] == animal["id"]
    ]
    assert embedding
    assert all(r.body["animal"]["terminated_at"] == animal["terminated_at"] for r in embedding)


def test_the_same_world_advanced_the_same_days_gives_the_same_events():
    first, second = build_world(SMALL), build_world(SMALL)

    events = [advance(first, 1).events("c"), advance(first, 2).events("c")]
    again = [advance(second, 1).events("c"), advance(second, 2).events("c")]

    assert events == again
    ids = [e["id"] for day in events for e in day]
    assert len(ids) == len(set(ids)), "event ids are unique across days"
    assert all(e["id"].startswith("whe_") and e["version"] == "2022-12-14" for e in events[0])


def test_events_carry_the_record_as_served_in_the_documented_envelope():
    world = build_world(SMALL)
    change = advance(world, 1)

    for event in change.events("invivo-demo-client"):
        assert set(event) == {"id", "client_id", "event", "version", "created_at", "payload"}
        assert event["client_id"] == "invivo-demo-client"
        resource = resource_of(event["event"])
        assert resource is not None
        served = world.get(resource.name, event["payload"]["id"])
        assert served is not None and served.body == event["payload"]


def test_the_api_serves_the_new_day_at_once():
    settings = SimulatorSettings()
    with SimulatorServer(SMALL, settings) as server, api_client(server) as api:
        study = _in_progress(server.world)[0]
        before = fetch_all(api, f"/studies/{study}/measurements")

        summary = server.advance(1)

        after = fetch_all(api, f"/studies/{study}/measurements")
        new_day = {m["measured_at"] for m in after} - {m["measured_at"] for m in before}
        assert len(new_day) == 1
        (day,) = new_day
        filtered = fetch_all(api, f"/studies/{study}/measurements", measured_at=day)
        assert filtered == after[len(before) :]
        assert summary["webhook"] == {"configured": False}
        assert summary["events"] == sum(summary["by_event"].values())


@pytest.mark.parametrize("days", ["0", "-1", "abc", "367", ""])
def test_advance_refuses_a_bad_number_of_days_and_changes_nothing(days):
    with SimulatorServer(SMALL) as server:
        counts = server.world.counts()
        response = httpx.post(f"{server.base_url}/_simulator/advance", params={"days": days})
        assert response.status_code == 422
        assert "days" in response.json()["errors"]
        assert server.world.counts() == counts


def test_the_days_events_reach_a_receiver_with_the_shared_secret(tmp_path):
    store = EventStore(tmp_path / "events.sqlite")
    with ReceiverServer(store, "sim-secret") as receiver:
        settings = SimulatorSettings(webhook_url=receiver.url, webhook_secret="sim-secret")
        with SimulatorServer(SMALL, settings) as server:
            summary = server.advance(2)

    assert summary["events"] > 0
    assert summary["webhook"] == {
        "configured": True,
        "delivered": summary["events"],
        "failed": 0,
        "statuses": {"200": summary["events"]},
    }
    stored = store.since(0, limit=100_000)
    assert len(stored) == summary["events"]
    assert Counter(e.event for e in stored) == Counter(summary["by_event"])


def test_a_receiver_that_refuses_the_secret_fails_every_event_without_retrying(tmp_path):
    store = EventStore(tmp_path / "events.sqlite")
    with ReceiverServer(store, "the-real-secret") as receiver:
        settings = SimulatorSettings(webhook_url=receiver.url, webhook_secret="a-guess")
        with SimulatorServer(SMALL, settings) as server:
            summary = server.advance(1)

    assert summary["webhook"]["failed"] == summary["events"] > 0
    assert summary["webhook"]["statuses"] == {"401": summary["events"]}
    assert store.count() == 0


def test_delivery_retries_what_a_sender_retries():
    calls: Counter[str] = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        calls[request.headers[SECRET_HEADER]] += 1
        if calls[request.headers[SECRET_HEADER]] < 3:
            return httpx.Response(503)
        return httpx.Response(200, json={"stored": True})

    events = [{"id": "whe_1", "event": "animal.updated", "payload": {}}]
    report = asyncio.run(
        deliver(events, "http://r/x", "s", backoff_s=0, transport=httpx.MockTransport(handler))
    )

    assert (report.delivered, report.failed, calls["s"]) == (1, 0, 3)


def test_an_unreachable_receiver_is_reported_not_raised():
    events = [{"id": "whe_1", "event": "animal.updated", "payload": {}}]
    report = asyncio.run(deliver(events, "http://127.0.0.1:9/x", "s", attempts=2, backoff_s=0))

    assert (report.delivered, report.failed) == (0, 1)
    assert report.statuses == {"ConnectError": 1}


def test_the_webhook_secret_is_not_in_the_settings_repr():
    assert "hush" not in repr(SimulatorSettings(webhook_url="http://x", webhook_secret="hush"))


def test_the_command_wants_the_secret_from_the_environment_for_a_webhook_url():
    env = {k: v for k, v in os.environ.items() if k != "INVIVO_WEBHOOK_SECRET"}
    result = subprocess.run(
        [sys.executable, "-m", "invivo_pipeline", "simulator", "--webhook-url", "http://x/y"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "INVIVO_WEBHOOK_SECRET" in result.stderr
