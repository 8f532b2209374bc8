"""The sensors through Dagster's sensor testing API, against the simulator over loopback: cursors,
partition additions and deletions, run requests and run keys, and the request cost of a quiet
tick counted by the simulator itself."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest

from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.definitions import defs
from invivo_pipeline.sources.invivo.assets import asset_key
from invivo_pipeline.sources.invivo.automation import sensors
from invivo_pipeline.sources.invivo.automation.discovery import expected_requests, probe_totals
from invivo_pipeline.sources.invivo.automation.jobs import STUDY_FOLLOW_JOB, STUDY_JOB
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.partitions import STUDY_PARTITIONS_NAME
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import SimulatorSettings
from invivo_pipeline.sources.invivo.webhooks.server import ReceiverServer
from invivo_pipeline.sources.invivo.webhooks.store import EventStore
from invivo_pipeline_tests.support.sensing import (
    api,
    discover,
    global_runs,
    in_progress,
    partitions,
    read_events,
    study_runs,
)

WORLD = WorldConfig(seed=17, studies=5, animals_per_study=8, days=5)
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "reference_examples.json"
EXAMPLES = {e["event"]: e["body"] for e in json.loads(FIXTURES.read_text())["webhooks"]}
PROBES = 4


@pytest.fixture(autouse=True)
def no_settling(monkeypatch):
    """Events stored by a test are read at once, however recent (the settle window has a test
    of its own)."""
    monkeypatch.setattr(
        sensors, "SETTINGS", dataclasses.replace(sensors.SETTINGS, webhook_settle_s=0)
    )


@pytest.fixture
def settings(monkeypatch):
    """Probe on every tick unless a test says otherwise."""

    def use(**changes):
        monkeypatch.setattr(sensors, "SETTINGS", dataclasses.replace(sensors.SETTINGS, **changes))

    use(probe_interval_s=0)
    return use


@pytest.fixture
def sim():
    with SimulatorServer(WORLD) as server:
        yield server


@pytest.fixture
def instance():
    return dg.DagsterInstance.ephemeral()


def test_the_first_tick_registers_every_study_and_loads_it(sim, instance, settings):
    result = discover(sim, instance)

    ids = [s.id for s in sim.world.studies]
    assert partitions(instance) == ids
    assert sorted(study_runs(result, instance)) == sorted(ids)
    study_run, global_run = result.run_requests
    assert study_run.tags["invivo/reason"] == f"{len(ids)} studies: new study ({len(ids)})"
    (global_run,) = global_runs(result)
    assert set(global_run.asset_selection) == {asset_key("studies"), asset_key("cages")}
    keys = [r.run_key for r in result.run_requests]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    ("studies", "max_per_page"), [(5, 100), (60, 25)], ids=["one page", "three pages"]
)
@pytest.mark.parametrize("probe", [True, False], ids=["probe due", "probe not due"])
def test_a_quiet_tick_launches_nothing_and_costs_pages_plus_token_plus_probes(
    instance, settings, studies, max_per_page, probe
):
    world = WorldConfig(seed=3, studies=studies, animals_per_study=2, days=2)
    with SimulatorServer(world, SimulatorSettings(max_per_page=max_per_page)) as server:
        first = discover(server, instance)
        assert first.run_requests
        settings(probe_interval_s=0 if probe else 3600)
        server.reset_stats()

        quiet = discover(server, instance, first.cursor)

        stats = server.stats()
        active = len(in_progress(server))
        pages = -(-studies // max_per_page)
        assert quiet.run_requests == []
        assert not quiet.dynamic_partitions_requests
        assert stats["by_route"].get("/studies") == pages
        assert stats["requests"] == pages + (PROBES * active if probe else 0)
        assert stats["token_requests"] == 1
        cost = expected_requests(studies, active, PROBES if probe else 0, max_per_page)
        assert stats["requests"] + stats["token_requests"] == cost
        assert f"({cost} requests)" in quiet.skip_reason.skip_message
        print(f"quiet tick: {studies} studies, {active} in progress, probe={probe}: {cost}")


def test_new_measurements_are_found_by_the_probe_for_in_progress_studies_only(
    sim, instance, settings
):
    first = discover(sim, instance)

    sim.advance(1)
    result = discover(sim, instance, first.cursor)

    runs = study_runs(result, instance)
    assert sorted(runs) == sorted(in_progress(sim))
    (run,) = result.run_requests
    assert "probe: measurements" in run.tags["invivo/reason"]
    assert global_runs(result) == [] and not result.dynamic_partitions_requests


def test_the_probe_waits_for_its_interval(sim, instance, settings):
    settings(probe_interval_s=3600)
    first = discover(sim, instance)
    sim.advance(1)

    result = discover(sim, instance, first.cursor)

    assert result.run_requests == [], "not due: the change waits for the next probe or an event"


def test_an_updated_study_is_reloaded_with_the_studies_table(sim, instance, settings):
    first = discover(sim, instance)
    world = sim.world
    completed = next(s for s in world.studies if s.status == "completed")
    completed.updated_at += timedelta(hours=1)
    world.set_records("studies", [world.shaper.study(s) for s in world.studies])

    result = discover(sim, instance, first.cursor)

    assert list(study_runs(result, instance)) == [completed.id]
    assert study_runs(result, instance)[completed.id].tags["invivo/reason"] == "study updated"
    assert len(global_runs(result)) == 1


def test_a_vanished_study_loses_its_partition_and_the_studies_table_is_reloaded(
    sim, instance, settings
):
    first = discover(sim, instance)
    world = sim.world
    gone = world.studies[3]
    world.set_records("studies", [r for r in world.records("studies") if r.keys["id"] != gone.id])

    result = discover(sim, instance, first.cursor)

    assert gone.id not in partitions(instance)
    assert study_runs(result, instance) == {}
    assert [k.path[-1] for k in global_runs(result)[0].asset_selection] == ["cages", "studies"]


def test_a_retried_tick_asks_for_the_same_run_keys_and_the_next_for_new_ones(
    sim, instance, settings
):
    first = discover(sim, instance)
    sim.advance(1)

    again = [discover(sim, instance, first.cursor) for _ in range(2)]
    sim.advance(1)
    later = discover(sim, instance, again[0].cursor)

    keys = [{r.run_key for r in result.run_requests} for result in (*again, later)]
    assert keys[0] == keys[1], "same cursor, same keys: Dagster launches them once"
    assert not keys[0] & keys[2]


def test_a_study_whose_run_has_not_started_is_not_requested_again(sim, instance, settings):
    first = discover(sim, instance)
    waiting = in_progress(sim)[0]
    instance.add_run(
        dg.DagsterRun(
            job_name=STUDY_JOB,
            run_id="waiting-run",
            status=dg.DagsterRunStatus.NOT_STARTED,
            tags={"dagster/partition": waiting},
        )
    )
    sim.advance(1)

    result = discover(sim, instance, first.cursor)

    assert sorted(study_runs(result, instance)) == sorted(set(in_progress(sim)) - {waiting})


def test_a_study_being_loaded_is_left_for_the_tick_after_its_run(sim, instance, settings):
    """Discovery asks nothing for a changed study a run is loading (a run for it now would be a
    run of its own: issue 19); the first tick after that run has ended asks for it."""
    first = discover(sim, instance)
    loading = in_progress(sim)[0]
    _follow_run(instance, "loading", loading, dg.DagsterRunStatus.STARTED)
    sim.advance(1)

    during = discover(sim, instance, first.cursor)
    instance.delete_run("loading")
    _follow_run(instance, "loading", loading, dg.DagsterRunStatus.SUCCESS)
    after = discover(sim, instance, during.cursor)

    assert sorted(study_runs(during, instance)) == sorted(set(in_progress(sim)) - {loading})
    assert list(study_runs(after, instance)) == [loading]


def test_the_webhook_sensor_refreshes_only_the_studies_the_days_events_name(
    tmp_path, monkeypatch, instance
):
    store = EventStore(tmp_path / "events.sqlite")
    monkeypatch.setenv("INVIVO_WEBHOOK_DB", str(store.path))
    with ReceiverServer(store, "s3") as receiver:
        settings = SimulatorSettings(webhook_url=receiver.url, webhook_secret="s3")
        with SimulatorServer(WORLD, settings) as server:
            instance.add_dynamic_partitions(
                STUDY_PARTITIONS_NAME, [s.id for s in server.world.studies]
            )
            summary = server.advance(1)
            server.reset_stats()

            result = read_events(instance)
            quiet = read_events(instance, result.cursor)

            assert server.stats()["requests"] == server.stats()["token_requests"] == 0
    runs = study_runs(result, instance)
    assert sorted(runs) == sorted(in_progress(server))
    (run,) = result.run_requests
    # The webhook's run builds the marts and reports of those studies too (issue 19).
    assert run.job_name == STUDY_FOLLOW_JOB
    assert run.run_key.startswith(f"webhook:{summary['events']}:")
    assert "animal.measurement.created" in run.tags["invivo/reason"]
    assert global_runs(result) == [] and not result.dynamic_partitions_requests
    assert json.loads(result.cursor) == {"seq": store.last_seq()}, "nothing set aside"
    assert quiet.run_requests == [] and quiet.cursor == result.cursor
    assert f"no events after seq {store.last_seq()}" in quiet.skip_reason.skip_message


def test_study_and_global_events_drop_partitions_and_refresh_global_tables(
    tmp_path, monkeypatch, instance
):
    store = EventStore(tmp_path / "events.sqlite")
    monkeypatch.setenv("INVIVO_WEBHOOK_DB", str(store.path))
    created, deleted = EXAMPLES["study.created"], EXAMPLES["study.deleted"]
    instance.add_dynamic_partitions(STUDY_PARTITIONS_NAME, ["sdy_doomed"])
    for n, body in enumerate(
        [
            {**created, "id": "whe_a", "payload": {**created["payload"], "id": "sdy_fresh"}},
            {**deleted, "id": "whe_b", "payload": {**deleted["payload"], "id": "sdy_doomed"}},
            EXAMPLES["strain.updated"],
            EXAMPLES["species.created"],
        ]
    ):
        store.add(body["id"], body["event"], None, json.dumps(body).encode())
        assert store.last_seq() == n + 1

    result = read_events(instance)

    assert partitions(instance) == [], "study.created waits for discovery to list the study"
    assert study_runs(result, instance) == {}
    assert [(e.event_id, e.study_id) for e in store.set_aside("held")] == [("whe_a", "sdy_fresh")]
    (global_run,) = global_runs(result)
    assert {k.path[-1] for k in global_run.asset_selection} == {"studies", "strains", "species"}


def _store_raw(store: EventStore, event_id: str, event: str, body: bytes) -> None:
    """As an event stored before the receiver refused such bodies, or by other means."""
    assert store.add(event_id, event, None, body)


def _measurement(event_id: str, study_id: str) -> bytes:
    body = EXAMPLES["animal.measurement.created"]
    payload = {**body["payload"], "study": {"id": study_id}}
    return json.dumps({**body, "id": event_id, "payload": payload}).encode()


def test_a_poison_event_is_quarantined_and_later_events_are_still_acted_on(
    tmp_path, monkeypatch, instance
):
    store = EventStore(tmp_path / "events.sqlite")
    monkeypatch.setenv("INVIVO_WEBHOOK_DB", str(store.path))
    instance.add_dynamic_partitions(STUDY_PARTITIONS_NAME, ["sdy_a", "sdy_b"])
    nested = '{"animal":' * 999 + "{}" + "}" * 999
    poison = f'{{"id":"whe_p","event":"animal.measurement.created","payload":{nested}}}'
    _store_raw(store, "whe_1", "animal.measurement.created", _measurement("whe_1", "sdy_a"))
    _store_raw(store, "whe_p\n2026 INFO forged", "animal.measurement.created", poison.encode())
    _store_raw(store, "whe_3", "animal.measurement.created", _measurement("whe_3", "sdy_b"))

    with dg.build_sensor_context(instance=instance, definitions=defs) as context:
        logged = []
        monkeypatch.setattr(context.log, "warning", logged.append)
        first = sensors.webhook_events(context)
    _store_raw(store, "whe_4", "animal.measurement.created", _measurement("whe_4", "sdy_a"))
    second = read_events(instance, first.cursor)

    assert sorted(study_runs(first, instance)) == ["sdy_a", "sdy_b"]
    assert json.loads(first.cursor) == {"seq": 3, "quarantined": 1}
    (line,) = logged
    assert "1 quarantined (seq 2 'whe_p\\n2026 INFO forged': payload nests deeper" in line
    assert "\n" not in line
    (kept,) = store.set_aside("quarantined")
    assert (kept.seq, kept.reason) == (2, "payload nests deeper than 32 levels")
    assert list(study_runs(second, instance)) == ["sdy_a"], (
        "the sensor goes on consuming good events"
    )
    assert json.loads(second.cursor)["seq"] == 4


def _follow_run(instance, run_id: str, study_id: str, status: dg.DagsterRunStatus) -> None:
    instance.add_run(
        dg.DagsterRun(
            job_name=STUDY_FOLLOW_JOB,
            run_id=run_id,
            status=status,
            tags={"dagster/partition": study_id},
        )
    )


def _webhook_store(tmp_path, monkeypatch, instance, studies: list[str]) -> EventStore:
    """An event store the webhook sensor reads, with ``studies`` registered."""
    store = EventStore(tmp_path / "events.sqlite")
    monkeypatch.setenv("INVIVO_WEBHOOK_DB", str(store.path))
    instance.add_dynamic_partitions(STUDY_PARTITIONS_NAME, studies)
    return store


def _store_measurements(store: EventStore, studies: list[str], first: int = 0) -> None:
    """One measurement event for each study, ids whe_<first>, whe_<first + 1>, ..."""
    for n, study in enumerate(studies, start=first):
        _store_raw(store, f"whe_{n}", "animal.measurement.created", _measurement(f"whe_{n}", study))


def test_a_burst_waits_behind_a_queued_run_and_then_goes_into_one_run(
    tmp_path, monkeypatch, instance
):
    """While a study run waits for the writer pool, the studies later events name wait in the
    cursor; the first tick after it starts asks for one run over all of them (issue 19)."""
    store = _webhook_store(tmp_path, monkeypatch, instance, ["sdy_a", "sdy_b", "sdy_c"])
    _follow_run(instance, "queued", "sdy_a", dg.DagsterRunStatus.NOT_STARTED)
    _store_measurements(store, ["sdy_a", "sdy_b"])

    first = read_events(instance)
    _store_measurements(store, ["sdy_c"], first=2)
    second = read_events(instance, first.cursor)
    instance.delete_run("queued")
    _follow_run(instance, "queued", "sdy_a", dg.DagsterRunStatus.STARTED)
    third = read_events(instance, second.cursor)
    retried = read_events(instance, second.cursor)
    quiet = read_events(instance, third.cursor)

    assert first.run_requests == [] and second.run_requests == []
    assert sorted(json.loads(first.cursor)["pending"]) == ["sdy_b"], (
        "sdy_a's queued run fetches after its event"
    )
    assert sorted(json.loads(second.cursor)["pending"]) == ["sdy_b", "sdy_c"]
    assert "2 studies wait for the next run" in second.skip_reason.skip_message
    (run,) = third.run_requests
    assert sorted(study_runs(third, instance)) == ["sdy_b", "sdy_c"]
    assert run.job_name == STUDY_FOLLOW_JOB
    assert run.run_key == "webhook:pending-3-0:sdy_b"
    assert [r.run_key for r in retried.run_requests] == [run.run_key], "a retried tick: same key"
    assert json.loads(third.cursor) == {"seq": 3, "pending_runs": 1}
    assert quiet.run_requests == []


def test_a_study_being_loaded_waits_for_its_run_to_end(tmp_path, monkeypatch, instance):
    """New events for a study whose run is under way: the other studies get their run now; that
    study goes into the first run after its own has ended, not into a run of its own (a running
    run's range cannot move, so asking now would mean one run per such study)."""
    store = _webhook_store(tmp_path, monkeypatch, instance, ["sdy_a", "sdy_b", "sdy_c"])
    _follow_run(instance, "running", "sdy_b", dg.DagsterRunStatus.STARTED)
    _store_measurements(store, ["sdy_a", "sdy_b", "sdy_c"])

    first = read_events(instance)
    still_running = read_events(instance, first.cursor)
    instance.delete_run("running")
    _follow_run(instance, "running", "sdy_b", dg.DagsterRunStatus.SUCCESS)
    after = read_events(instance, still_running.cursor)

    assert sorted(study_runs(first, instance)) == ["sdy_a", "sdy_c"]
    assert json.loads(first.cursor)["pending"] == {"sdy_b": "1 animal.measurement.created"}
    assert still_running.run_requests == []
    assert sorted(study_runs(after, instance)) == ["sdy_b"]
    assert "pending" not in json.loads(after.cursor)


def test_a_burst_still_arriving_waits_for_its_last_events(tmp_path, monkeypatch, instance):
    """Events received less than the settle window ago wait for one more tick, so a burst that
    takes a few seconds to arrive becomes one run; a stream that never pauses still gets its run
    after SETTLE_AT_MOST_S."""
    monkeypatch.setattr(
        sensors, "SETTINGS", dataclasses.replace(sensors.SETTINGS, webhook_settle_s=2)
    )
    clock = [time.time()]
    monkeypatch.setattr(sensors, "time", SimpleNamespace(time=lambda: clock[0]))
    store = _webhook_store(tmp_path, monkeypatch, instance, ["sdy_a", "sdy_b", "sdy_c"])
    _store_measurements(store, ["sdy_a"])

    arriving = read_events(instance)
    _store_measurements(store, ["sdy_b"], first=1)
    clock[0] = time.time()
    still = read_events(instance, arriving.cursor)
    clock[0] += 3
    settled = read_events(instance, still.cursor)
    _store_measurements(store, ["sdy_c"], first=2)
    clock[0] = time.time()
    streaming = read_events(instance, settled.cursor)
    clock[0] += sensors.SETTLE_AT_MOST_S
    _store_measurements(store, ["sdy_c"], first=3)
    capped = read_events(instance, streaming.cursor)

    assert arriving.run_requests == [] and still.run_requests == []
    assert sorted(json.loads(still.cursor)["pending"]) == ["sdy_a", "sdy_b"]
    assert sorted(study_runs(settled, instance)) == ["sdy_a", "sdy_b"]
    assert streaming.run_requests == []
    assert sorted(study_runs(capped, instance)) == ["sdy_c"], "waited long enough: a run anyway"


def test_pending_studies_that_vanish_are_not_requested(tmp_path, monkeypatch, instance):
    store = _webhook_store(tmp_path, monkeypatch, instance, ["sdy_a", "sdy_b", "sdy_gone"])
    _follow_run(instance, "queued", "sdy_a", dg.DagsterRunStatus.NOT_STARTED)
    _store_measurements(store, ["sdy_b", "sdy_gone"])
    first = read_events(instance)
    instance.delete_dynamic_partition(STUDY_PARTITIONS_NAME, "sdy_gone")
    instance.delete_run("queued")

    second = read_events(instance, first.cursor)

    assert sorted(json.loads(first.cursor)["pending"]) == ["sdy_b", "sdy_gone"]
    assert sorted(study_runs(second, instance)) == ["sdy_b"]


def test_a_flood_for_unlisted_studies_makes_no_partition_or_run_until_discovery_lists_one(
    tmp_path, monkeypatch, instance, sim, settings
):
    store = EventStore(tmp_path / "events.sqlite")
    monkeypatch.setenv("INVIVO_WEBHOOK_DB", str(store.path))
    real = sim.world.studies[0].id
    made_up = [f"sdy_fake_{n}" for n in range(2998)] + ["../../fake/0"]
    for n, study_id in enumerate([*made_up, real]):
        _store_raw(
            store, f"whe_{n}", "animal.measurement.created", _measurement(f"whe_{n}", study_id)
        )

    flooded = read_events(instance)
    discover(sim, instance)  # registers the simulator's studies, the real one among them
    released = read_events(instance, flooded.cursor)

    assert flooded.run_requests == [] and partitions(instance) != []
    assert not any(p.startswith(("sdy_fake", "..")) for p in partitions(instance))
    assert json.loads(flooded.cursor) == {"seq": 3000, "held": 3000}
    assert "3000 held for 3000 studies not registered yet" in flooded.skip_reason.skip_message
    assert list(study_runs(released, instance)) == [real]
    assert study_runs(released, instance)[real].run_key == "webhook:released-3000:" + real
    assert json.loads(released.cursor) == {"seq": 3000, "held": 2999}
    assert {e.study_id for e in store.set_aside("held")} == set(made_up)


def test_a_big_backlog_is_consumed_a_bounded_batch_per_tick(tmp_path, monkeypatch, instance):
    store = EventStore(tmp_path / "events.sqlite")
    monkeypatch.setenv("INVIVO_WEBHOOK_DB", str(store.path))
    monkeypatch.setattr(
        sensors, "SETTINGS", dataclasses.replace(sensors.SETTINGS, max_events_per_tick=10)
    )
    body = EXAMPLES["animal.measurement.created"]
    for n in range(25):
        store.add(f"whe_{n}", body["event"], None, json.dumps({**body, "id": f"whe_{n}"}).encode())

    cursors = []
    cursor = None
    for _ in range(4):
        result = read_events(instance, cursor)
        cursor = result.cursor
        cursors.append(json.loads(cursor)["seq"])

    assert cursors == [10, 20, 25, 25]


def test_without_a_store_the_webhook_sensor_skips_and_creates_nothing(
    tmp_path, monkeypatch, instance
):
    path = tmp_path / "nowhere" / "events.sqlite"
    monkeypatch.setenv("INVIVO_WEBHOOK_DB", str(path))

    result = read_events(instance)

    assert "no event store" in result.skip_reason.skip_message
    assert not path.parent.exists()


def test_a_study_gone_between_the_listing_and_the_probe_has_no_totals(sim):
    study = in_progress(sim)[0]

    async def probe():
        async with InVivoClient(api(sim).client_config()) as client:
            return await probe_totals(client, ["sdy_gone", study], ["measurements", "samples"])

    totals = run_sync(probe())

    assert totals["sdy_gone"] is None
    assert totals[study] == [
        len(sim.world.index("measurements", "study_id")[study]),
        len(sim.world.index("samples", "study_id").get(study, [])),
    ]


@pytest.mark.parametrize("sensor", [sensors.webhook_events, sensors.study_discovery])
def test_a_sensor_ticks_on_the_daemon_loop_it_was_meant_for(sensor):
    """The daemon ticks a sensor when the time since its last tick started is at least its
    minimum interval; on time, its next loop checks a few milliseconds short of a whole interval."""
    meant = {
        sensors.WEBHOOK_SENSOR: sensors.SETTINGS.webhook_interval_s,
        sensors.DISCOVERY_SENSOR: sensors.SETTINGS.discovery_interval_s,
    }[sensor.name]
    loop_checks_after = meant - 0.01
    assert loop_checks_after >= sensor.minimum_interval_seconds
