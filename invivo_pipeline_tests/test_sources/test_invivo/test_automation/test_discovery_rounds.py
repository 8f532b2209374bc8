"""The discovery sensor at scale: a probe round spread over ticks (a bounded number of studies a
tick, resuming where the last tick stopped), and one run per tick for every study it refreshes.
Against the simulator over loopback; requests counted by the simulator itself."""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest

from invivo_pipeline.sources.invivo.automation import discovery, sensors
from invivo_pipeline.sources.invivo.automation.discovery import (
    DiscoveryCursor,
    DiscoveryPlan,
    apply_probe,
    probe_batch,
)
from invivo_pipeline.sources.invivo.automation.jobs import STUDY_JOB
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline_tests.support.sensing import (
    discover,
    in_progress,
    partitions,
    study_runs,
)

LIMIT = 3
PROBES = 4


@pytest.fixture
def bounded(monkeypatch):
    monkeypatch.setattr(
        sensors, "SETTINGS", dataclasses.replace(sensors.SETTINGS, probe_interval_s=0)
    )
    monkeypatch.setattr(discovery, "PROBE_STUDIES_PER_TICK", LIMIT)


def test_a_probe_round_spreads_over_ticks_and_reaches_every_in_progress_study(bounded):
    instance = dg.DagsterInstance.ephemeral()
    with SimulatorServer(WorldConfig(seed=5, studies=30, animals_per_study=2, days=2)) as sim:
        active = sorted(in_progress(sim))
        ticks = -(-len(active) // LIMIT)
        assert ticks >= 3
        first = discover(sim, instance)
        cursor = first.cursor
        for _ in range(ticks - 1):  # finish the baseline round
            cursor = discover(sim, instance, cursor).cursor
        assert DiscoveryCursor.from_json(cursor).probe_after is None, "the round is complete"

        sim.advance(1)
        found: list[str] = []
        for _ in range(ticks):
            sim.reset_stats()
            result = discover(sim, instance, cursor)
            cursor = result.cursor
            stats = sim.stats()
            assert stats["requests"] <= 1 + PROBES * LIMIT, "one page of studies + the batch"
            runs = [r for r in result.run_requests if r.job_name == STUDY_JOB]
            assert len(runs) <= 1, "every study the tick refreshes goes into one run"
            found += study_runs(result, instance)

    assert sorted(found) == active, "each in-progress study once a round"
    assert sorted(partitions(instance)) == sorted(s.id for s in sim.world.studies)


def test_a_round_resumes_after_the_last_study_probed_and_ends_where_it_started():
    assert probe_batch(["d", "a", "c", "b", "e"], None, 2) == (["a", "b"], 3)
    assert probe_batch(["d", "a", "c", "b", "e"], "b", 2) == (["c", "d"], 1)
    # "c" finished and "bb" appeared mid-round: the round goes on by id.
    assert probe_batch(["d", "a", "bb", "b", "e"], "b", 2) == (["bb", "d"], 1)
    assert probe_batch(["a"], "d", 2) == ([], 0)

    plan = DiscoveryPlan(cursor=DiscoveryCursor(probe_resources=["m"], totals={"z": [1]}))
    apply_probe(plan, {"a": [1], "b": [2]}, ["m"], 100.0, in_progress=["a", "b", "z"], left=3)
    assert (plan.cursor.probe_after, plan.cursor.round_started) == ("b", 100.0)
    assert plan.cursor.probed_at is None, "the interval counts from a complete round"
    assert plan.cursor.totals == {"z": [1], "a": [1], "b": [2]}
    assert plan.probe_left == 3 and "(3 left for the next ticks)" in plan.summary()

    plan = DiscoveryPlan(cursor=plan.cursor)
    apply_probe(plan, {"z": [2]}, ["m"], 160.0, in_progress=["a", "z"], left=0)
    assert plan.cursor.probe_after is None and plan.cursor.probed_at == 100.0
    assert plan.cursor.totals == {"a": [1], "z": [2]}
    assert [r.reason for r in plan.refresh] == ["probe: m 1→2"]
