"""The Dagster UI as a user meets it after ``invivo sync``: ``dagster-webserver`` serving the
Dagster instance and DuckDB file of the session's one real sync (``materialized``).

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

from invivo_pipeline_tests.support.automation_processes import (
    Processes,
    free_port,
    http_ok,
    processes,
    wait_for,
)
from invivo_pipeline_tests.support.materialized import Materialized

ROOT = Path(__file__).resolve().parents[2]


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


def _environment(materialized: Materialized) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVIVO_", "DAGSTER_"))}
    # The checkout's code, not whatever an editable install points at.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env | {
        "DAGSTER_HOME": str(materialized.dagster_home),
        "INVIVO_DUCKDB_PATH": str(materialized.db),
    }


@contextlib.contextmanager
def served_ui(materialized: Materialized, logs: Path) -> Iterator[UiStack]:
    """Serve the instance and warehouse of a real sync (the session's ``materialized`` one, which
    loaded both sources); the webserver's output goes to ``logs``."""
    webserver = shutil.which("dagster-webserver")
    assert webserver, "dagster-webserver is a dependency: pip install -e ."
    started = time.monotonic()
    with processes(ROOT, logs) as procs:
        env = _environment(materialized)
        try:
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
        print(f"UI stack: dagster-webserver ready in {time.monotonic() - started:.1f} s")
        yield UiStack(url=url, warehouse=materialized.db, procs=procs)
