"""The discovery sensor and the runs it requests on a Dagster instance on PostgreSQL
(``deploy/dagster-postgres.yaml`` as shipped, a real PostgreSQL server): the partitions it registers,
the runs with their trigger tags, and what they materialized are all recorded in PostgreSQL."""

from __future__ import annotations

import dataclasses

import dagster as dg
import duckdb
import pytest

from invivo_pipeline.sources.invivo.assets import asset_key
from invivo_pipeline.sources.invivo.automation import sensors
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)
from invivo_pipeline_tests.support.postgres_server import postgres, postgres_home  # noqa: F401 (fixtures)
from invivo_pipeline_tests.support.sensing import discover, execute, partitions, study_runs

pytestmark = pytest.mark.slow  # end to end: see docs/development.md


@pytest.mark.timeout(300)
def test_a_sensor_launched_run_is_recorded_in_postgresql(tmp_path, monkeypatch, postgres_home):  # noqa: F811
    monkeypatch.setattr(
        sensors, "SETTINGS", dataclasses.replace(sensors.SETTINGS, probe_interval_s=0)
    )
    db = tmp_path / "invivo.duckdb"
    with SimulatorServer(WorldConfig(seed=31, studies=3, animals_per_study=5, days=3)) as sim:
        for name, value in {
            "INVIVO_BASE_URL": sim.base_url,
            "INVIVO_CLIENT_ID": DEMO_CLIENT_ID,
            "INVIVO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
            "INVIVO_DUCKDB_PATH": str(db),
            "DAGSTER_EVENT_BATCH_SIZE": "50",
            **postgres_home.env,
        }.items():
            monkeypatch.setenv(name, value)
        studies = [s.id for s in sim.world.studies]
        with postgres_home.instance() as instance:
            result = discover(sim, instance)
            requested = study_runs(result, instance)
            assert set(requested) == set(studies)
            (request,) = {r.run_key: r for r in requested.values()}.values()  # one run a tick
            launched = execute(instance, request)
            assert launched.success

        # A fresh instance, as the webserver would load it, reads it all back from PostgreSQL.
        with postgres_home.instance() as instance:
            assert type(instance.event_log_storage).__module__.startswith("dagster_postgres")
            assert partitions(instance) == studies
            (run,) = instance.get_runs()
            assert run.run_id == launched.run_id
            assert run.status == dg.DagsterRunStatus.SUCCESS
            assert run.tags["invivo/trigger"] == request.tags["invivo/trigger"]
            for table in ("animals", "measurements", "dosages"):
                assert set(instance.get_materialized_partitions(asset_key(table))) == set(studies)
    with duckdb.connect(str(db), read_only=True) as con:
        loaded = con.execute("SELECT DISTINCT study_id FROM invivo_raw.animals").fetchall()
    assert sorted(loaded) == sorted((study,) for study in studies)
