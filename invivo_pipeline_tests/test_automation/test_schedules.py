"""The reconcile schedules through Dagster's schedule testing API: they bring the partitions in
line with the API, then request the daily (active studies, or everything) and weekly (finished
studies) reloads."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import dagster as dg
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from invivo_pipeline.assets.partitions import STUDY_PARTITIONS_NAME
from invivo_pipeline.automation import schedules
from invivo_pipeline.automation.jobs import GLOBAL_KEYS, STUDY_KEYS
from invivo_pipeline.automation.schedules import reconcile_daily, refresh_finished_weekly
from invivo_pipeline.simulator.server import SimulatorServer
from invivo_pipeline.simulator.world import WorldConfig
from invivo_pipeline_tests.test_automation.sensing import api

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


def test_the_daily_reconcile_reloads_globals_and_every_study_that_can_still_change(
    sim, scope, instance
):
    scope("active")
    instance.add_dynamic_partitions(STUDY_PARTITIONS_NAME, ["sdy_vanished"])

    requests = evaluate(reconcile_daily, sim, instance)

    assert list(instance.get_dynamic_partitions(STUDY_PARTITIONS_NAME)) == ids(sim)
    global_run, *study_runs = requests
    assert global_run.asset_selection == GLOBAL_KEYS and global_run.partition_key is None
    assert [r.partition_key for r in study_runs] == ids(sim, finished=False)
    assert all(r.asset_selection == STUDY_KEYS for r in study_runs)
    assert {r.run_key for r in requests} == {
        "reconcile:2026-11-03:global",
        *(f"reconcile:2026-11-03:{s}" for s in ids(sim, finished=False)),
    }


def test_with_scope_all_the_daily_reconcile_is_one_run_over_every_study(sim, scope, instance):
    scope("all")

    (request,) = evaluate(reconcile_daily, sim, instance)

    every = ids(sim)
    assert request.tags[ASSET_PARTITION_RANGE_START_TAG] == every[0]
    assert request.tags[ASSET_PARTITION_RANGE_END_TAG] == every[-1]
    assert request.asset_selection is None, "the whole invivo_ingest job"
    skipped = evaluate(refresh_finished_weekly, sim, instance)
    assert isinstance(skipped, dg.SkipReason)


def test_the_weekly_refresh_reloads_finished_studies(sim, scope, instance):
    scope("active")

    requests = evaluate(refresh_finished_weekly, sim, instance)

    assert [r.partition_key for r in requests] == ids(sim, finished=True)
    assert len(ids(sim, finished=True)) >= 2
    assert all(r.run_key.startswith("finished:2026-11-03:") for r in requests)
    assert all(r.tags["invivo/trigger"] == "weekly" for r in requests)


def test_daily_and_weekly_together_cover_every_study(sim, scope, instance):
    scope("active")

    covered = [r.partition_key for r in evaluate(reconcile_daily, sim, instance)]
    covered += [r.partition_key for r in evaluate(refresh_finished_weekly, sim, instance)]

    assert sorted(k for k in covered if k) == sorted(ids(sim))
