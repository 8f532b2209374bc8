"""``python -m bench --mode reconcile|discovery``: what the automation costs at scale.

- ``reconcile``: after an ``invivo sync`` (which registers the study partitions in a Dagster home
  of its own), the daily reconcile schedule (``active`` scope) is evaluated as the daemon would
  and each run it requests is executed, one after another (they queue on the writer lock), each
  in a fresh process that imports the definitions and executes the job (what the daemon's run
  worker does): runs launched and wall seconds. ``--compare`` also executes the runs the schedule
  requested before it made ranges (one per study that can still change, plus one for the global
  tables), ``--sample K`` of them at most, the total scaled up from their mean when sampled.
- ``discovery``: ``invivo_study_discovery`` evaluated in this process against a simulator of
  ``--studies`` studies: the first tick (registers every study), then a tick with the probe due,
  bounded (``PROBE_STUDIES_PER_TICK``) and, for comparison, unbounded (every in-progress study in
  one tick, as before): seconds, API requests and runs requested per tick.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _execute(request: dict, env: dict[str, str]) -> float:
    """One requested run in a fresh process, as the daemon's run worker would; its seconds."""
    started = time.perf_counter()
    _step(["execute", json.dumps(request)], env)
    return time.perf_counter() - started


def _execute_here(request: dict) -> int:
    import dagster as dg

    from invivo_pipeline.cli.sync_run import run_config
    from invivo_pipeline.definitions import defs
    from invivo_pipeline.warehouse import Warehouse, default_duckdb_path

    job = defs.resolve_job_def(request["job"])
    selection = [dg.AssetKey(k) for k in request["selection"]] if request["selection"] else None
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags=request["tags"],
            asset_selection=selection,
            raise_on_error=True,
            run_config=run_config(Warehouse(default_duckdb_path(), resources=())),
        )
    return 0 if result.success else 1


def _as_dict(request, job: str) -> dict:
    return {
        "job": request.job_name or job,
        "tags": dict(request.tags),
        "selection": [k.path for k in request.asset_selection] if request.asset_selection else None,
    }


def _api(base_url: str | None = None):
    from invivo_pipeline.sources.invivo.api_resource import InVivoApiResource

    return InVivoApiResource(
        base_url=base_url or os.environ["INVIVO_BASE_URL"],
        client_id=os.environ.get("INVIVO_CLIENT_ID", "invivo-demo-client"),
        client_secret=os.environ.get("INVIVO_CLIENT_SECRET", "invivo-demo-secret"),
    )


def _step(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A helper process; its stderr's last lines in the error when it fails."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.automation", *args],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode:
        raise SystemExit(f"bench.automation {args[0]} failed: {out.stderr[-1500:]}")
    return out


def _evaluate_daily(env: dict[str, str]) -> tuple[list[dict], float]:
    """The daily reconcile schedule's requests, evaluated in a process with ``env``."""
    out = _step(["evaluate"], env)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    return found["requests"], found["seconds"]


def _evaluate_here() -> int:
    import dagster as dg

    from invivo_pipeline.sources.invivo.automation.jobs import FULL_JOB
    from invivo_pipeline.sources.invivo.automation.schedules import reconcile_daily

    started = time.perf_counter()
    with (
        dg.DagsterInstance.get() as instance,
        dg.build_schedule_context(
            instance=instance,
            resources={"invivo_api": _api()},
            scheduled_execution_time=datetime.now(UTC),
        ) as ctx,
    ):
        requests = list(reconcile_daily(ctx))
    seconds = time.perf_counter() - started
    print(json.dumps({"requests": [_as_dict(r, FULL_JOB) for r in requests], "seconds": seconds}))
    return 0


def _per_study_requests(env: dict[str, str]) -> list[dict]:
    """What the daily reconcile requested before ranges: one run per active study + globals."""
    from invivo_pipeline.sources.invivo.automation.jobs import FULL_JOB, GLOBAL_KEYS, STUDY_KEYS

    studies = httpx.get(f"{env['INVIVO_BASE_URL']}/_simulator/stats", timeout=30).raise_for_status()
    del studies  # the simulator is up; the studies come from the world as the API lists them
    out = _step(["active"], env)
    active = json.loads(out.stdout.strip().splitlines()[-1])
    glob = {"job": FULL_JOB, "tags": {}, "selection": [k.path for k in GLOBAL_KEYS]}
    return [glob] + [
        {
            "job": FULL_JOB,
            "tags": {"dagster/partition": s},
            "selection": [k.path for k in STUDY_KEYS],
        }
        for s in active
    ]


def _active_here() -> int:
    from invivo_pipeline.sources.invivo.automation.schedules import _list_studies

    listed, _ = _list_studies(_api())
    print(json.dumps([s.id for s in listed if not s.finished]))
    return 0


def _run_all(requests: list[dict], env: dict[str, str], sample: int | None) -> dict:
    chosen = requests if not sample else requests[:sample]
    seconds = [_execute(r, env) for r in chosen]
    total = sum(seconds)
    scaled = total * len(requests) / len(chosen) if chosen else 0.0
    return {
        "runs": len(requests),
        "runs_executed": len(chosen),
        "wall_seconds": round(scaled, 1),
        "measured_seconds": round(total, 1),
        "mean_run_seconds": round(total / len(chosen), 2) if chosen else 0.0,
        "scaled_from_sample": len(chosen) < len(requests),
    }


def reconcile_mode(args: argparse.Namespace) -> dict:

    from bench.run import _free_port, _start_simulator, _sync_env

    work = Path(tempfile.mkdtemp(prefix="invivo-bench-reconcile-"))
    port = _free_port()
    env = _sync_env(f"http://127.0.0.1:{port}", work)
    server, _ = _start_simulator(args, env, port)
    try:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "invivo_pipeline", "sync", "--quiet"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        sync_seconds = time.perf_counter() - started
        found: dict = {
            "mode": "reconcile",
            "scale": [args.studies, args.animals, args.days],
            "initial_sync_seconds": round(sync_seconds, 1),
        }
        if args.compare:
            found["before"] = _run_all(_per_study_requests(env), env, args.sample)
            print(json.dumps(found), file=sys.stderr, flush=True)  # kept if what follows fails
        requests, evaluation = _evaluate_daily(env)
        found["after"] = _run_all(requests, env, None) | {
            "schedule_evaluation_seconds": round(evaluation, 2)
        }
        return found
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


def _tick(sim_url: str, instance, cursor: str | None):
    import dagster as dg

    from invivo_pipeline.definitions import defs
    from invivo_pipeline.sources.invivo.automation.sensors import study_discovery
    from invivo_pipeline_tests.support.sensing import apply_partitions

    before = httpx.get(f"{sim_url}/_simulator/stats", timeout=30).json()
    started = time.perf_counter()
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"invivo_api": _api(sim_url)}, definitions=defs
    ) as context:
        result = study_discovery(context)
    apply_partitions(instance, result)
    seconds = time.perf_counter() - started
    after = httpx.get(f"{sim_url}/_simulator/stats", timeout=30).json()
    made = (after["requests"] + after["token_requests"]) - (
        before["requests"] + before["token_requests"]
    )
    return result, {
        "seconds": round(seconds, 2),
        "requests": made,
        "runs": len(result.run_requests or []),
    }


def discovery_mode(args: argparse.Namespace) -> dict:
    import dagster as dg

    from bench.run import _free_port, _start_simulator
    from invivo_pipeline.sources.invivo.automation import discovery, sensors

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server, _ = _start_simulator(args, dict(os.environ), port)
    sensors.SETTINGS = dataclasses.replace(sensors.SETTINGS, probe_interval_s=0)
    try:
        with dg.instance_for_test() as instance:
            first, first_figures = _tick(url, instance, None)
            found = {
                "mode": "discovery",
                "studies": args.studies,
                "probe_studies_per_tick": discovery.PROBE_STUDIES_PER_TICK,
                "first_tick": first_figures,
            }
            _, found["probe_tick_bounded"] = _tick(url, instance, first.cursor)
            bound = discovery.PROBE_STUDIES_PER_TICK
            discovery.PROBE_STUDIES_PER_TICK = 10**9
            try:
                _, found["probe_tick_unbounded"] = _tick(url, instance, first.cursor)
            finally:
                discovery.PROBE_STUDIES_PER_TICK = bound
            return found
    finally:
        server.terminate()
        server.wait()


def main(argv: list[str] | None = None) -> int:
    """The helper processes the modes start: ``evaluate``, ``active``, ``execute REQUEST``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[0] == "evaluate":
        return _evaluate_here()
    if argv[0] == "active":
        return _active_here()
    if argv[0] == "execute":
        return _execute_here(json.loads(argv[1]))
    raise SystemExit(f"unknown step {argv[0]!r}")


if __name__ == "__main__":
    raise SystemExit(main())
