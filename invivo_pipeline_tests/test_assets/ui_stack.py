"""The Dagster UI as a user meets it after ``invivo sync``: the simulator on loopback, one sync run
recorded in a fresh ``DAGSTER_HOME`` and DuckDB file, and ``dagster-webserver`` serving both.

Kept apart from the browser tests so that anything wanting a materialized, served instance can
start the same stack with one context manager.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from invivo_pipeline.simulator.server import SimulatorServer
from invivo_pipeline.simulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from invivo_pipeline.simulator.world import WorldConfig
from invivo_pipeline_tests.test_automation.processes import (
    Processes,
    free_port,
    http_ok,
    processes,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
# No daemon runs here, so no schedule or sensor can launch a run behind the test's back.
DAGSTER_YAML = "telemetry:\n  enabled: false\n"


@dataclass(frozen=True)
class UiStack:
    url: str
    """The webserver's root, e.g. ``http://127.0.0.1:40123``."""
    warehouse: Path
    """The DuckDB file the sync loaded, to compare what the UI shows with what is there."""
    procs: Processes


def _graphql_ready(url: str) -> bool:
    """The webserver answers before its code location has loaded; wait for the assets too."""
    query = "{ assetNodes { id } }"
    response = httpx.post(f"{url}/graphql", json={"query": query}, timeout=10)
    nodes = response.json().get("data", {}).get("assetNodes") or []
    return bool(nodes)


def _environment(home: Path, db: Path, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVIVO_", "DAGSTER_"))}
    # The worktree's code, not whatever an editable install points at.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env | {
        "DAGSTER_HOME": str(home),
        "INVIVO_BASE_URL": api_url,
        "INVIVO_CLIENT_ID": DEMO_CLIENT_ID,
        "INVIVO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "INVIVO_DUCKDB_PATH": str(db),
    }


@contextlib.contextmanager
def served_ui(
    workdir: Path, world: WorldConfig | None = None, logs: Path | None = None
) -> Iterator[UiStack]:
    """Sync the simulated tenant into ``workdir`` and serve it; the sync's and the webserver's
    output go to ``logs`` (default ``workdir/logs``). Prints how long each stage took."""
    webserver = shutil.which("dagster-webserver")
    assert webserver, "dagster-webserver is a dependency: pip install -e ."
    home = workdir / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    db = workdir / "warehouse" / "invivo.duckdb"
    started = time.monotonic()
    with (
        SimulatorServer(world or WorldConfig()) as sim,
        processes(ROOT, logs or workdir / "logs") as procs,
    ):
        env = _environment(home, db, sim.base_url)
        try:
            procs.run("sync", procs.invivo("sync", "--quiet"), env, timeout=300)
            synced = time.monotonic()
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            procs.start(
                "webserver",
                [webserver, "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                env,
            )
            wait_for("dagster-webserver up", lambda: http_ok(f"{url}/server_info"), 120)
            wait_for("the code location loaded", lambda: _graphql_ready(url), 120, interval=0.5)
        except BaseException:
            print(procs.report())
            raise
        print(
            f"UI stack: invivo sync {synced - started:.1f} s, "
            f"dagster-webserver ready {time.monotonic() - synced:.1f} s later"
        )
        yield UiStack(url=url, warehouse=db, procs=procs)
