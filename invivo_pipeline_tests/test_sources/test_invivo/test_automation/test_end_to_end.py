"""End to end, with real processes on loopback and no manual step: the simulator, the webhook
receiver and ``dagster dev`` (webserver and daemon). The warehouse is brought up to date with
``invivo sync``; then one simulated day passes, the simulator delivers its webhook events, and the
new measurements must reach the warehouse and the marts (when the dbt models are part of the code
location), through the webhook's own run. With short sensor intervals, quiet sensor ticks must
first launch no run at all and cost what the documentation says: a token and a page of studies a
tick, plus the probe. At the default intervals, only the arrival is asserted: how long it takes is
the benchmark's to say (``python -m bench --mode webhook``).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest

from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig, build_world
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)
from invivo_pipeline_tests.support.automation_processes import (
    count_rows,
    free_port,
    http_ok,
    processes,
    wait_for,
)

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

ROOT = Path(__file__).resolve().parents[4]
SHORT_INTERVALS = {
    "INVIVO_SENSOR_INTERVAL_S": "3",
    "INVIVO_WEBHOOK_SENSOR_INTERVAL_S": "2",
    "INVIVO_PROBE_INTERVAL_S": "3600",  # the webhooks carry the change; the probe baselines
    "INVIVO_AUTOMATION_INTERVAL_S": "5",
}
SECRET = "e2e-webhook-secret-not-for-logs"
MEASUREMENTS = "SELECT count(*) FROM invivo_raw.measurements"
REPORT = "SELECT count(*) FROM marts.fct_animal_day"
WORLD = {"studies": 4, "animals_per_study": 10, "days": 8}
IN_PROGRESS = sum(s.status == "in_progress" for s in build_world(WorldConfig(**WORLD)).studies)

DAGSTER_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 4
    dequeue_interval_seconds: 1
sensors:
  use_threads: true
  num_workers: 4
schedules:
  use_threads: true
  num_workers: 2
event_log_storage:  # deploy/dagster.yaml's, so the daemon, webserver and run workers all use it
  module: invivo_pipeline.assets.event_storage
  class: PooledSqliteEventLogStorage
  config:
    instance_dir:
      env: DAGSTER_HOME
"""


def _reports_in_code_location() -> bool:
    from invivo_pipeline.definitions import defs

    keys = defs.resolve_asset_graph().get_all_asset_keys()
    return any(key.path[-1] == "fct_animal_day" for key in keys)


def _runs(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(instance.get_runs())


@pytest.mark.timeout(420)
@pytest.mark.parametrize(
    ("intervals", "deadline_s"),
    [(SHORT_INTERVALS, 90), ({}, 240)],
    ids=["short-intervals", "default-intervals"],
)
def test_a_simulated_day_reaches_the_warehouse_and_marts_through_webhooks(
    tmp_path, intervals, deadline_s, monkeypatch
):
    assert shutil.which("dagster"), "dagster is a dependency: pip install -e ."
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # this process reads the instance too
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    db = tmp_path / "warehouse" / "invivo.duckdb"
    sim_port, receiver_port, ui_port = free_port(), free_port(), free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVIVO_", "DAGSTER_"))}
    env |= {
        "DAGSTER_HOME": str(home),
        "INVIVO_BASE_URL": sim_url,
        "INVIVO_CLIENT_ID": DEMO_CLIENT_ID,
        "INVIVO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "INVIVO_DUCKDB_PATH": str(db),
        "INVIVO_WEBHOOK_DB": str(tmp_path / "webhook_events.sqlite"),
        "INVIVO_WEBHOOK_SECRET": SECRET,
        **intervals,
    }
    with processes(ROOT, tmp_path / "logs") as procs:
        try:
            procs.start(
                "simulator",
                procs.invivo(
                    *("simulator", "--port", str(sim_port), "--studies", str(WORLD["studies"])),
                    *("--animals-per-study", str(WORLD["animals_per_study"])),
                    *("--days", str(WORLD["days"])),
                    *("--webhook-url", f"{receiver_url}/webhooks/invivo"),
                ),
                env,
            )
            procs.start(
                "receiver", procs.invivo("webhooks", "serve", "--port", str(receiver_port)), env
            )
            wait_for("simulator up", lambda: http_ok(f"{sim_url}/_simulator/stats"), 30)
            wait_for("receiver up", lambda: http_ok(f"{receiver_url}/healthz"), 30)
            procs.run("sync", procs.invivo("sync", "--quiet"), env, timeout=180)
            synced_runs = _runs(home)
            assert len(synced_runs) == 1
            httpx.post(f"{sim_url}/_simulator/stats/reset").raise_for_status()

            procs.start(
                "dagster",
                ["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(ui_port)],
                env,
            )

            def discovery_ticks() -> int:
                stats = httpx.get(f"{sim_url}/_simulator/stats", timeout=5).json()
                return int(stats["by_route"].get("/studies", 0))

            if intervals:
                # The daemon is up and sensing once discovery has listed the studies twice.
                wait_for("two discovery ticks", lambda: discovery_ticks() >= 2, 120, interval=0.5)
                assert _runs(home) == synced_runs, "a quiet tick launched a run"
                # What the quiet ticks cost, counted by the simulator: per tick one token and one
                # page of studies, plus the probe once (4 lists per in-progress study, first tick).
                stats = httpx.get(f"{sim_url}/_simulator/stats", timeout=5).json()
                ticks = stats["by_route"]["/studies"]
                probes = sum(n for route, n in stats["by_route"].items() if route != "/studies")
                assert probes == 4 * IN_PROGRESS, stats["by_route"]
                assert stats["requests"] == ticks + probes
                assert stats["token_requests"] - ticks in (0, 1), (
                    "one token a tick (one may be mid-tick)"
                )

            before = count_rows(db, MEASUREMENTS)
            has_reports = _reports_in_code_location()
            reports_before = count_rows(db, REPORT) if has_reports else None

            started = time.monotonic()
            advanced = httpx.post(f"{sim_url}/_simulator/advance", params={"days": 1}, timeout=60)
            advanced.raise_for_status()
            day = advanced.json()
            new = day["created"]["measurements"]
            assert new > 0 and day["webhook"]["failed"] == 0, day
            assert day["webhook"]["delivered"] == day["events"]

            expected = before + new
            remaining = lambda: deadline_s - (time.monotonic() - started)  # noqa: E731
            wait_for(
                f"{new} new measurements in invivo_raw.measurements",
                lambda: count_rows(db, MEASUREMENTS) == expected,
                remaining(),
                interval=1,
            )
            raw_s = time.monotonic() - started
            if has_reports:
                wait_for(
                    "the new day in marts.fct_animal_day",
                    lambda: (count_rows(db, REPORT) or 0) > (reports_before or 0),
                    remaining(),
                    interval=1,
                )
            total_s = time.monotonic() - started
            print(
                f"raw after {raw_s:.1f} s, reports after {total_s:.1f} s (has_reports={has_reports})"
            )

            triggered = [r for r in _runs(home) if r.tags.get("invivo/trigger") == "webhook"]
            assert triggered, "the new data came without a webhook-triggered run"
            # The webhook's run builds the marts and reports itself: no wait for the automation.
            assert {r.job_name for r in triggered} == {"invivo_ingest_study_and_report"}
            assert all(SECRET not in procs.tail(name, 10_000) for name, _ in procs.started)
        except BaseException:
            print(procs.report())
            raise
