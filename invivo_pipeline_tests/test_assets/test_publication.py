"""The publication sensor, as the daemon drives it, against the simulator over loopback: a run
that failed after changing the warehouse publishes nothing; a successful study run is published
by one ``invivo_publish`` run; a warehouse already published is not published again."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from invivo_pipeline.assets.publication import PUBLISH_JOB, publish_after_writes
from invivo_pipeline.cli.sync_run import SyncFailed, sync_everything
from invivo_pipeline.definitions import defs
from invivo_pipeline.sources.invivo.automation.jobs import STUDY_JOB
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import Warehouse
from invivo_pipeline.warehouse.publish import published_path
from invivo_pipeline_tests.support.sensing import execute

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

WORLD = WorldConfig(seed=31, studies=3, animals_per_study=6, days=4)
COUNT = "select count(*) from invivo_raw.measurements"


@pytest.fixture
def sim():
    with SimulatorServer(WORLD) as server:
        yield server


@pytest.fixture
def db(tmp_path, monkeypatch, sim):
    path = tmp_path / "warehouse" / "invivo.duckdb"
    for name, value in {
        "INVIVO_BASE_URL": sim.base_url,
        "INVIVO_CLIENT_ID": DEMO_CLIENT_ID,
        "INVIVO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "INVIVO_DUCKDB_PATH": str(path),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("DAGSTER_HOME", "CYTOBANK_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return path


def _tick(instance: dg.DagsterInstance, cursor: str | None = None) -> dg.SensorResult:
    # The sensor finds the warehouse where the code location's resource does: INVIVO_DUCKDB_PATH.
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
        return publish_after_writes(context)


def _count(path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(COUNT).fetchall()[0][0]


def test_a_failed_run_publishes_nothing_and_a_successful_one_is_published_once(
    sim, db, monkeypatch
):
    instance = dg.DagsterInstance.ephemeral()
    # The whole job, its dbt step failing after the ingestion step committed its tables.
    monkeypatch.setenv("INVIVO_DBT_MEMORY_LIMIT", "not-a-size")
    with pytest.raises(SyncFailed):
        sync_everything(warehouse=Warehouse(db, resources=RESOURCES), inst=instance)
    monkeypatch.delenv("INVIVO_DBT_MEMORY_LIMIT")
    assert _count(db) > 0, "the ingestion step committed before dbt failed"
    failed = _tick(instance)
    assert not failed.run_requests and "no successful run" in failed.skip_reason.skip_message
    assert not published_path(db).exists()

    # The studies live a day; a study run per study (as a sensor launches them) loads it.
    sim.advance(days=1)
    runs = [dg.RunRequest(job_name=STUDY_JOB, partition_key=s.id) for s in sim.world.studies]
    for request in runs:
        assert execute(instance, request).success
    ticked = _tick(instance, failed.cursor)
    (publish_request,) = ticked.run_requests
    assert publish_request.job_name in (None, PUBLISH_JOB)
    published = defs.resolve_job_def(PUBLISH_JOB).execute_in_process(
        instance=instance, tags=publish_request.tags, run_config={}
    )
    assert published.success
    assert _count(published_path(db)) == _count(db)

    # The publication run is not a reason to publish, nor is a run already published.
    again = _tick(instance, ticked.cursor)
    assert not again.run_requests
    assert execute(instance, runs[0]).success  # nothing new: the warehouse is as published
    quiet = _tick(instance, again.cursor)
    assert not quiet.run_requests and "already holds" in quiet.skip_reason.skip_message
