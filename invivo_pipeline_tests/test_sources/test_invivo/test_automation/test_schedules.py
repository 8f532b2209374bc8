"""The reconcile schedules through Dagster's schedule testing API: they bring the partitions in
line with the API, then request the daily (active studies, or everything) and weekly (finished
studies) reloads, each as one run over a range of study partitions that Dagster resolves to
exactly those studies, whatever order the partitions were registered in."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import dagster as dg
import pytest

from invivo_pipeline.sources.invivo.automation import schedules
from invivo_pipeline.sources.invivo.automation.jobs import FULL_JOB, GLOBAL_KEYS, STUDY_JOB
from invivo_pipeline.sources.invivo.automation.schedules import (
    reconcile_daily,
    refresh_finished_weekly,
)
from invivo_pipeline.sources.invivo.partitions import STUDY_PARTITIONS_NAME
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline_tests.support.sensing import api, partitions, studies_of

WHEN = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim():
    with SimulatorServer(WorldConfig(seed=29, studies=10, animals_per_study=2, days=2)) as server:
        yield server


@pytest.fixture
def instance():
    # A persistent (temporary) instance: the schedule context re-opens it from its reference.
    with dg.instance_for_test() as found:
        yield found


@pytest.fixture
def scope(monkeypatch):
    def use(value: str) -> None:
        changed = dataclasses.replace(schedules.SETTINGS, daily_scope=value)
        monkeypatch.setattr(schedules, "SETTINGS", changed)

    return use


def evaluate(schedule, sim, instance):
    # Closed after use: the context opens its own instance from the reference, and an instance
    # left open keeps Dagster's current-instance state pointing at it for every later test.
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=WHEN, resources={"invivo_api": api(sim)}
    ) as context:
        result = schedule(context)
        return result if isinstance(result, dg.SkipReason) else list(result)


def ids(sim, finished: bool | None = None) -> list[str]:
    done = {"completed", "canceled"}
    return [s.id for s in sim.world.studies if finished is None or (s.status in done) == finished]


def test_the_daily_reconcile_is_one_run_over_globals_and_every_study_that_can_still_change(
    sim, scope, instance
):
    scope("active")
    instance.add_dynamic_partitions(STUDY_PARTITIONS_NAME, ["sdy_vanished"])

    (request,) = evaluate(reconcile_daily, sim, instance)

    assert sorted(partitions(instance)) == sorted(ids(sim))
    assert request.asset_selection is None, "the whole invivo_ingest job: globals and studies"
    assert studies_of(instance, request) == [
        s for s in partitions(instance) if s in ids(sim, finished=False)
    ]
    assert sorted(studies_of(instance, request)) == sorted(ids(sim, finished=False))
    assert request.run_key.startswith("reconcile:2026-11-03:")
    assert request.tags["invivo/trigger"] == "reconcile"


def test_with_scope_all_the_daily_reconcile_is_one_run_over_every_study(sim, scope, instance):
    scope("all")

    (request,) = evaluate(reconcile_daily, sim, instance)

    assert sorted(studies_of(instance, request)) == sorted(ids(sim))
    assert request.asset_selection is None, "the whole invivo_ingest job"
    skipped = evaluate(refresh_finished_weekly, sim, instance)
    assert isinstance(skipped, dg.SkipReason)


def test_the_weekly_refresh_is_one_run_over_the_finished_studies(sim, scope, instance):
    scope("active")

    (request,) = evaluate(refresh_finished_weekly, sim, instance)

    assert sorted(studies_of(instance, request)) == sorted(ids(sim, finished=True))
    assert len(ids(sim, finished=True)) >= 2
    assert request.run_key.startswith("finished:2026-11-03:")
    assert request.tags["invivo/trigger"] == "weekly"


def test_daily_and_weekly_together_cover_every_study_once(sim, scope, instance):
    scope("active")

    daily = evaluate(reconcile_daily, sim, instance)
    covered = [s for r in daily for s in studies_of(instance, r)]
    weekly = evaluate(refresh_finished_weekly, sim, instance)
    covered += [s for r in weekly for s in studies_of(instance, r)]

    assert sorted(covered) == sorted(ids(sim))


@pytest.mark.parametrize("scope_name", ["active", "all"])
def test_registration_order_unlike_the_listing_and_a_recreated_study_change_nothing(
    sim, scope, instance, scope_name
):
    """A sensor registered the studies in reverse, and one was deleted and re-created (so it is
    registered last): each run still loads exactly the studies it is for."""
    scope(scope_name)
    listed = ids(sim)
    instance.add_dynamic_partitions(STUDY_PARTITIONS_NAME, list(reversed(listed)))
    recreated = ids(sim, finished=False)[1]
    instance.delete_dynamic_partition(STUDY_PARTITIONS_NAME, recreated)
    instance.add_dynamic_partitions(STUDY_PARTITIONS_NAME, [recreated])

    daily = evaluate(reconcile_daily, sim, instance)
    weekly = evaluate(refresh_finished_weekly, sim, instance)

    assert len(daily) == 1
    wanted = ids(sim, finished=False) if scope_name == "active" else listed
    assert sorted(studies_of(instance, daily[0])) == sorted(wanted)
    if scope_name == "active":
        assert sorted(studies_of(instance, weekly[0])) == sorted(ids(sim, finished=True))


def test_studies_already_queued_are_left_out_and_a_running_run_keeps_its_studies(
    sim, scope, instance
):
    scope("all")
    listed = ids(sim)
    instance.add_dynamic_partitions(STUDY_PARTITIONS_NAME, listed)
    queued, running_range = listed[5], (listed[1], listed[3])
    add_run(instance, "queued", dg.DagsterRunStatus.NOT_STARTED, {"dagster/partition": queued})
    range_tags = {
        "dagster/asset_partition_range_start": running_range[0],
        "dagster/asset_partition_range_end": running_range[1],
    }
    add_run(instance, "running", dg.DagsterRunStatus.STARTED, range_tags, job=FULL_JOB)
    running = listed[1:4]

    requests = evaluate(reconcile_daily, sim, instance)

    covered = [s for r in requests for s in studies_of(instance, r)]
    assert sorted(covered) == sorted(set(listed) - {queued})
    assert len(covered) == len(set(covered))
    assert len(requests) == 2, "the studies of the running run stay where they are, as one range"
    started = dg.RunRequest(tags=range_tags)
    assert studies_of(instance, started) == running, "what the running run loads is unchanged"


def add_run(instance, run_id, status, tags, job=STUDY_JOB) -> None:
    instance.add_run(dg.DagsterRun(job_name=job, run_id=run_id, status=status, tags=tags))


def test_the_global_tables_alone_when_no_study_can_change(scope, instance):
    scope("active")
    world = WorldConfig(seed=29, studies=0, animals_per_study=2, days=2)
    with SimulatorServer(world) as empty:
        (request,) = evaluate(reconcile_daily, empty, instance)

    assert request.asset_selection == GLOBAL_KEYS
