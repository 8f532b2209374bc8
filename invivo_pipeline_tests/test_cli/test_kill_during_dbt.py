"""``kill -9`` of ``invivo sync`` while dbt builds leaves no dbt child writing the warehouse."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.warehouse import writer_lock
from invivo_pipeline_tests.support.cli import SMALL_WORLD, pointing_at
from invivo_pipeline_tests.support.processes import children, cmdline, gone_within

pytestmark = pytest.mark.slow  # end to end: see docs/development.md


def test_kill_9_of_a_sync_during_dbt_build_leaves_no_dbt_writing(cli):
    with SimulatorServer(WorldConfig(seed=31, **SMALL_WORLD)) as server:
        sync = cli.start("sync", **pointing_at(server))
        dbt = None
        deadline = time.monotonic() + 180
        while dbt is None and time.monotonic() < deadline and sync.poll() is None:
            dbt = next(
                (p for p in children(sync.pid) if "build" in cmdline(p) and _is_dbt(p)), None
            )
            time.sleep(0.05)
        assert dbt is not None, "the sync never started dbt build"
        sync.kill()
        sync.wait()
        assert gone_within(dbt, 10), f"dbt (pid {dbt}) still running after its parent died"
    # The writer lock is free again: no process is left holding or bypassing it.
    with writer_lock(cli.db, timeout=5):
        pass


def _is_dbt(pid: int) -> bool:
    return any(Path(arg).name == "dbt" for arg in cmdline(pid))
