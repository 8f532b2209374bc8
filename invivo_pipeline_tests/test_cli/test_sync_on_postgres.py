"""``invivo sync`` recording into a Dagster instance on PostgreSQL: ``DAGSTER_HOME`` holds
``deploy/dagster-postgres.yaml`` as shipped, and a real PostgreSQL server holds the runs and events."""

from __future__ import annotations

import dagster as dg
import pytest

from invivo_pipeline.sources.invivo.assets import asset_key
from invivo_pipeline.sources.invivo.partitions import STUDY_PARTITIONS_NAME
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline_tests.support.cli import SMALL_WORLD, assert_matches_world, pointing_at
from invivo_pipeline_tests.support.postgres_server import postgres, postgres_home  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow  # end to end: see docs/development.md


def test_a_full_sync_is_recorded_in_postgresql(cli, postgres_home):  # noqa: F811
    with SimulatorServer(WorldConfig(seed=23, **SMALL_WORLD)) as server:
        env = {**postgres_home.env, "DAGSTER_EVENT_BATCH_SIZE": "100"}
        result = cli.run("sync", **pointing_at(server), **env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert_matches_world(cli.db, server)
        studies = [s.id for s in server.world.studies]

    # Nothing of the instance is on disk beside the yaml: it is all in the database.
    assert sorted(p.name for p in postgres_home.path.iterdir() if p.suffix == ".db") == []
    with postgres_home.instance() as instance:
        assert type(instance.run_storage).__module__.startswith("dagster_postgres")
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.job_name == "invivo_sync"
        assert sorted(instance.get_dynamic_partitions(STUDY_PARTITIONS_NAME)) == sorted(studies)
        for table in ("animals", "measurements"):
            assert set(instance.get_materialized_partitions(asset_key(table))) == set(studies)
        # The batched materializations (one per study of each table) were all stored.
        records = instance.fetch_materializations(asset_key("measurements"), limit=100).records
        assert {r.partition_key for r in records} == set(studies)
        assert {r.run_id for r in records} == {run.run_id}
