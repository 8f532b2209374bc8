"""The runs the sensors request are runs the code location can execute, and they load exactly
what changed: the whole warehouse on the first tick, the new day after an advance."""

from __future__ import annotations

import dataclasses

import dagster as dg
import duckdb
import pytest

from invivo_pipeline.sources.invivo.automation import sensors
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)
from invivo_pipeline_tests.support.sensing import discover, execute

TABLES = ("studies", "animals", "measurements", "dosages", "observations", "samples")


def counts(db) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t: con.execute(f"SELECT count(*) FROM invivo_raw.{t}").fetchone()[0] for t in TABLES
        }


def world_counts(server) -> dict[str, int]:
    return {t: len(server.world.records(t)) for t in TABLES}


@pytest.mark.timeout(300)
def test_the_requested_runs_load_the_tenant_then_the_new_day(tmp_path, monkeypatch):
    monkeypatch.setattr(
        sensors, "SETTINGS", dataclasses.replace(sensors.SETTINGS, probe_interval_s=0)
    )
    db = tmp_path / "invivo.duckdb"
    with SimulatorServer(WorldConfig(seed=23, studies=4, animals_per_study=6, days=4)) as sim:
        for name, value in {
            "INVIVO_BASE_URL": sim.base_url,
            "INVIVO_CLIENT_ID": DEMO_CLIENT_ID,
            "INVIVO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
            "INVIVO_DUCKDB_PATH": str(db),
        }.items():
            monkeypatch.setenv(name, value)
        instance = dg.DagsterInstance.ephemeral()

        first = discover(sim, instance)
        assert all(execute(instance, r).success for r in first.run_requests)
        assert counts(db) == world_counts(sim)

        quiet = discover(sim, instance, first.cursor)
        assert quiet.run_requests == [], "what the runs loaded is the probe's baseline"

        sim.advance(1)
        changed = discover(sim, instance, quiet.cursor)
        assert changed.run_requests
        assert all(execute(instance, r).success for r in changed.run_requests)
        assert counts(db) == world_counts(sim)
