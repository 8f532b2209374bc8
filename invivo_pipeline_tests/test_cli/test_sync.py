"""``invivo sync``, the headless way to run the whole job, end to end over loopback HTTP."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import SimulatorSettings
from invivo_pipeline_tests.support.cli import (
    SMALL_WORLD,
    assert_matches_world,
    pointing_at,
    table_snapshot,
)
from invivo_pipeline_tests.support.tenant import minimum_api_requests

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

RATIO = re.compile(r"requests: ([\d,]+) \(minimum possible ([\d,]+), ratio ([\d.]+)")


def _ratio(stdout: str) -> tuple[int, int, float]:
    found = RATIO.search(stdout)
    assert found, stdout
    made, minimum, ratio = found.groups()
    return int(made.replace(",", "")), int(minimum.replace(",", "")), float(ratio)


def test_a_sync_through_faults_loads_exactly_what_the_api_holds(cli):
    faults = SimulatorSettings(
        max_per_page=20, token_ttl_s=2, error_rate=0.05, malformed_rate=0.03, fault_seed=5
    )
    with SimulatorServer(WorldConfig(seed=21, **SMALL_WORLD), faults) as server:
        result = cli.run("sync", **pointing_at(server))
        assert result.returncode == 0, result.stderr
        assert_matches_world(cli.db, server)
        stats = server.stats()
    assert stats["faults"]["server_error"] > 0 and stats["faults"]["malformed"] > 0


def test_a_clean_sync_costs_at_most_five_percent_over_the_minimum_and_a_rerun_changes_nothing(cli):
    with SimulatorServer(WorldConfig(seed=22, **SMALL_WORLD)) as server:
        first = cli.run("sync", **pointing_at(server))
        assert first.returncode == 0, first.stderr
        made, minimum, ratio = _ratio(first.stdout)
        assert made == server.stats()["requests"] + server.stats()["token_requests"]
        assert ratio <= 1.05 and made <= 1.05 * minimum
        assert_matches_world(cli.db, server)
        before = table_snapshot(cli.db)

        second = cli.run("sync", **pointing_at(server))
        assert second.returncode == 0, second.stderr
        assert "nothing changed since the last sync" in second.stdout
        assert table_snapshot(cli.db) == before  # _loaded_at included
        # dbt did not run again, and the findings it left are still reported.
        assert re.search(r"dbt: [1-9]\d* models", first.stdout), first.stdout
        assert "dbt: up to date, no input changed since the last build" in second.stdout
        findings = re.compile(r"data quality: \d+ findings?")
        assert findings.findall(second.stdout) == findings.findall(first.stdout), second.stdout


def test_a_sync_killed_mid_load_leaves_every_table_as_it_was_then_a_rerun_completes(cli):
    with SimulatorServer(WorldConfig(seed=23, **SMALL_WORLD)) as old_world:
        assert cli.run("sync", **pointing_at(old_world)).returncode == 0
    before = table_snapshot(cli.db)

    # Another tenant state (a different seed changes every record), served slowly enough that
    # the kill lands while partitions are being written inside the run's transaction.
    slow = SimulatorSettings(latency_ms=40)
    new_config = WorldConfig(seed=24, **SMALL_WORLD)
    with SimulatorServer(new_config, slow) as new_world:
        # Well into the run: partitions have been written inside its still-open transaction.
        kill_at = int(0.6 * minimum_api_requests(new_world.world, 100))
        sync = cli.start("sync", "--quiet", **pointing_at(new_world))
        deadline = time.monotonic() + 120
        while new_world.stats()["requests"] < kill_at:
            assert sync.poll() is None, sync.communicate()
            assert time.monotonic() < deadline, "the sync never got going"
            time.sleep(0.05)
        sync.send_signal(signal.SIGKILL)
        sync.wait(timeout=30)
        assert sync.returncode == -signal.SIGKILL

        assert table_snapshot(cli.db) == before, "a killed run must change nothing"

        rerun = cli.run("sync", **pointing_at(new_world))
        assert rerun.returncode == 0, rerun.stderr
        assert_matches_world(cli.db, new_world)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"INVIVO_CLIENT_SECRET": "wrong-secret-1234"}, "invalid client credentials"),
        ({"INVIVO_BASE_URL": "http://127.0.0.1:9"}, "cannot reach http://127.0.0.1:9"),
        ({"INVIVO_BASE_URL": "http://invivo.example.com"}, "requires HTTPS"),
        ({"INVIVO_BASE_URL": ""}, "INVIVO_BASE_URL"),
    ],
    ids=["wrong-credentials", "unreachable-host", "plain-http-remote", "missing-url"],
)
def test_bad_configuration_fails_in_one_clear_line(cli, env, expected):
    with SimulatorServer(WorldConfig(seed=25, studies=1, animals_per_study=2, days=2)) as server:
        result = cli.run("sync", **{**pointing_at(server), **env})
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "wrong-secret-1234" not in result.stderr + result.stdout
    assert not cli.db.exists(), "nothing is written when the source cannot be read"


def test_a_duckdb_file_held_by_another_program_is_a_clear_error_not_a_hang(cli):
    with SimulatorServer(WorldConfig(seed=26, studies=1, animals_per_study=2, days=2)) as server:
        assert cli.run("sync", **pointing_at(server)).returncode == 0
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                "print('holding', flush=True); time.sleep(120)",
                str(cli.db),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout.readline().strip() == "holding"
            before = time.monotonic()
            result = cli.run("sync", **pointing_at(server))
            elapsed = time.monotonic() - before
        finally:
            holder.kill()
            holder.wait()
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert str(cli.db) in lines[0] and "held by another program" in lines[0]
    assert f"PID {holder.pid}" in lines[0]
    assert elapsed < 90, "a bounded wait, then the error"
