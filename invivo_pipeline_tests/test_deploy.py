"""``deploy/dagster.yaml`` is a Dagster instance that loads: queued runs, the warehouse's writer
pool limited to one, tick retention; and the pool holds exactly the steps that write DuckDB."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.scheduler.instigation import TickStatus

ROOT = Path(__file__).resolve().parents[1]
WRITER_POOL = "duckdb_writer"


def test_the_deployed_instance_queues_runs_and_gives_the_writer_pool_one_slot(deployed):
    assert isinstance(deployed.run_coordinator, QueuedRunCoordinator)
    pools = deployed.get_concurrency_config().pool_config
    assert pools.default_pool_limit == 1
    assert pools.pool_granularity is not None and pools.pool_granularity.value == "run"
    # What the daemon does the first time a run needs the pool.
    deployed.event_log_storage.initialize_concurrency_limit_to_default(WRITER_POOL)
    assert deployed.event_log_storage.get_concurrency_info(WRITER_POOL).slot_count == 1
    assert not deployed.telemetry_enabled


def test_the_deployed_instance_purges_old_ticks(deployed):
    sensor = deployed.get_tick_retention_settings(InstigatorType.SENSOR)
    assert sensor[TickStatus.SKIPPED] == 7 and sensor[TickStatus.SUCCESS] == 30
    schedule = deployed.get_tick_retention_settings(InstigatorType.SCHEDULE)
    assert schedule[TickStatus.SUCCESS] == 90 and schedule[TickStatus.FAILURE] == 90


def test_the_pool_advice_the_readme_gave_is_refused_and_gone(tmp_path):
    (tmp_path / "dagster.yaml").write_text("concurrency:\n  pools:\n    duckdb_writer: 1\n")
    with pytest.raises(dg.DagsterInvalidConfigError, match="duckdb_writer"):
        dg.DagsterInstance.from_config(str(tmp_path))
    readme = (ROOT / "README.md").read_text()
    assert "duckdb_writer: limit" not in readme
    assert "deploy/dagster.yaml" in readme


def test_the_steps_that_write_duckdb_are_in_the_writer_pool_and_the_reports_step_is_not():
    from invivo_pipeline.definitions import defs

    pools = {
        node.node_def.name: node.node_def.pool
        for node in defs.resolve_asset_graph().assets_defs
        if node.is_executable
    }
    assert pools == {
        "invivo_ingestion": WRITER_POOL,
        "cytobank_ingestion": WRITER_POOL,
        "invivo_dbt": WRITER_POOL,
        "invivo_reports": None,
    }
