"""The production-deployment modes of ``python -m bench``.

- ``instance``: the same full ``invivo sync`` recorded into the embedded SQLite instance, into
  PostgreSQL (``deploy/dagster-postgres.yaml`` on a throwaway server started as the tests start
  it), and into PostgreSQL with ``DAGSTER_EVENT_BATCH_SIZE``: the seconds of Dagster's own
  bookkeeping (``planning`` the materializations before the run starts, ``recording`` them after
  the ingestion step has loaded) against the fetch and load, one simulator serving all three.
- ``budget``: two ``invivo sync`` processes at once (each its own DuckDB file and Dagster home)
  against a simulator enforcing ``PACED_LIMIT``, each configured to that limit: with one window
  shared through one file, then with a window each. The 429s the simulator answered say whether
  together they stayed under the tenant's limit.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest.mock import patch

import httpx

from bench.run import (
    PACED_LIMIT,
    ROOT,
    _free_port,
    _run,
    _start_simulator,
    _steps,
    _sync_env,
)

BATCH_SIZE = "1000"


def _sync_into(base: str, simulator_pid: int, extra_env: dict[str, str], setup) -> dict:
    work = Path(tempfile.mkdtemp(prefix="invivo-instance-"))
    try:
        env = {**_sync_env(base, work), **extra_env}
        setup(work / "dagster_home")  # made by _sync_env
        sync = _run(["-m", "invivo_pipeline", "sync", "--quiet"], env, simulator_pid)
        with patch.dict(os.environ, extra_env):
            _, _, phases = _steps(work / "dagster_home")
        seconds = {k: round(end - start, 2) for k, (start, end) in phases.items()}
        return {
            "ok": sync["ok"],
            "error": sync["error"] or None,
            "sync_seconds": round(sync["seconds"], 1),
            **{f"{k}_seconds": v for k, v in seconds.items()},
            "bookkeeping_seconds": round(
                seconds.get("planning", 0.0) + seconds.get("recording", 0.0), 2
            ),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _postgres_home(home: Path) -> None:
    from invivo_pipeline_tests.support.postgres_server import DEPLOY_YAML

    shutil.copy(DEPLOY_YAML, home / "dagster.yaml")  # as shipped


def instance_mode(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT))
    from invivo_pipeline_tests.support.postgres_server import postgres_server, skip_reason

    if reason := skip_reason():
        raise SystemExit(f"bench --mode instance needs a PostgreSQL server: {reason}")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "INVIVO_BASE_URL": base}
    server, world_seconds = _start_simulator(args, env, port)
    figures: dict = {
        "mode": "instance",
        "scale": [args.studies, args.animals, args.days],
        "world_build_seconds": round(world_seconds, 1),
    }
    try:
        figures["sqlite"] = _sync_into(base, server.pid, {}, lambda home: None)
        print(json.dumps({"sqlite": figures["sqlite"]}), file=sys.stderr, flush=True)
        with postgres_server() as pg:
            for name, batch in (("postgres", None), ("postgres_batched", BATCH_SIZE)):
                database = pg.create_database(f"bench_{name}")
                extra = pg.env(database) | ({"DAGSTER_EVENT_BATCH_SIZE": batch} if batch else {})

                figures[name] = _sync_into(base, server.pid, extra, _postgres_home)
                print(json.dumps({name: figures[name]}), file=sys.stderr, flush=True)
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


def budget_mode(args: argparse.Namespace) -> dict:
    limit, window = PACED_LIMIT
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    scaled = argparse.Namespace(**{**vars(args), "studies": args.budget_studies})
    extra = ("--rate-limit", str(limit), "--rate-window", str(window))
    figures: dict = {
        "mode": "budget",
        "scale": [args.budget_studies, args.animals, args.days],
        "rate_limit": f"{limit} requests / {window:g} s",
        "processes": 2,
    }
    for shared in (True, False):
        work = Path(tempfile.mkdtemp(prefix="invivo-budget-"))
        server, _ = _start_simulator(scaled, dict(os.environ), port, extra)
        try:
            procs = []
            started = time.perf_counter()
            for i in range(2):
                (work / str(i)).mkdir()
                budget = work / ("budget.sqlite" if shared else f"budget-{i}.sqlite")
                env = {
                    **_sync_env(base, work / str(i)),
                    "INVIVO_REQUESTS_PER_MINUTE": str(limit * 60 / window),
                    "INVIVO_SHARED_BUDGET_PATH": str(budget),
                }
                command = [sys.executable, "-m", "invivo_pipeline", "sync", "--quiet"]
                procs.append(
                    subprocess.Popen(
                        command,
                        cwd=ROOT,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                )
            outputs = [p.communicate()[1] for p in procs]
            errors = [
                err.strip()[-300:] if p.returncode else ""
                for p, err in zip(procs, outputs, strict=True)
            ]
            seconds = time.perf_counter() - started
            stats = httpx.get(f"{base}/_simulator/stats", timeout=30).json()
            figures["shared" if shared else "separate"] = {
                "ok": not any(errors),
                "errors": [e for e in errors if e] or None,
                "wall_seconds": round(seconds, 1),
                "api_requests": stats["requests"],
                "rate_limited_429": stats["faults"]["rate_limited"],
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
            shutil.rmtree(work, ignore_errors=True)
    return figures
