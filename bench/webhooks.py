"""``python -m bench --mode webhook``: how long a webhook event takes to reach the warehouse, the
marts and the study's page, with the product deployed as the README says (the simulator, the
webhook receiver, ``dagster dev`` with ``deploy/dagster.yaml``) at the default sensor intervals.

After a full ``invivo sync``, one study lives one more day (``/_bench/change-one-study``, its
events delivered to the receiver): event → raw is the time from the events' delivery to the
materialization of that study's ``invivo_raw/measurements`` partition, event → marts to that of
``marts/fct_animal_day``, event → page to that of ``reports/study_reports``, each read from the
Dagster instance's event log (polling the warehouse would take its writer lock). Then every
in-progress study lives a day at once (the simulator's ``/_simulator/advance``, a day's burst of
events): burst → marts is the time to the last ``marts/fct_animal_day`` materialization of the
webhook runs the burst caused, once none is left queued or running (the runs other sensors and the
automation launched meanwhile are listed: they find the records already loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-webhook-secret"
RAW = ("invivo_raw", "measurements")
MARTS = ("marts", "fct_animal_day")
PAGE = ("reports", "study_reports")
ACTIVE = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED")
TRIGGER = "invivo/trigger"


def _records_after(instance, key: tuple[str, ...], after: float) -> list:
    """``key``'s materialization records after ``after``."""
    import dagster as dg

    return instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(list(key)), after_timestamp=after),
        limit=1000,
    ).records


def _materialized_after(instance, key: tuple[str, ...], after: float, partition: str | None = None):
    """Timestamps of ``key``'s materializations after ``after`` (of ``partition`` if given)."""
    records = _records_after(instance, key, after)
    return sorted(
        r.timestamp
        for r in records
        if partition is None or r.event_log_entry.dagster_event.partition == partition
    )


def _run_breakdown(instance, key: tuple[str, ...], after: float, partition: str, since: float):
    """Where the time to ``key``'s first materialization after ``after`` went, in seconds from
    ``since``: when the run was created (the sensor tick), when it started (its process up),
    and how long each of its steps took."""
    records = _records_after(instance, key, after)
    run_id = next(
        r.run_id for r in records if r.event_log_entry.dagster_event.partition == partition
    )
    return _run_timeline(instance, instance.get_run_record_by_id(run_id), since)


def _run_timeline(instance, record, since: float) -> dict:
    """A run's creation, start and step durations, in seconds from ``since``."""
    run_id = record.dagster_run.run_id
    steps = {
        s.step_key: round(s.end_time - s.start_time, 1)
        for s in instance.get_run_step_stats(run_id)
        if s.start_time and s.end_time
    }
    return {
        "job": record.dagster_run.job_name,
        "run_created_s": round(record.create_timestamp.timestamp() - since, 1),
        "run_started_s": round(record.start_time - since, 1) if record.start_time else None,
        "step_seconds": steps,
    }


def _dbt_timings(warehouse: Path, slowest: int = 8) -> dict:
    """The last dbt build's own seconds, node count and slowest nodes (its ``run_results.json``,
    in the dbt target folder beside the warehouse)."""
    path = warehouse.with_name(warehouse.name + ".dbt") / "run_results.json"
    if not path.exists():
        return {"error": f"no {path.name} at {path.parent}"}
    found = json.loads(path.read_text())
    nodes = sorted(found["results"], key=lambda r: r["execution_time"], reverse=True)
    return {
        "elapsed_seconds": round(found["elapsed_time"], 1),
        "nodes": len(nodes),
        "node_seconds": round(sum(r["execution_time"] for r in nodes), 1),
        "slowest": {r["unique_id"]: round(r["execution_time"], 2) for r in nodes[:slowest]},
    }


def _wait(what: str, found, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := found()) is not None:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def _active_runs(instance, tags: dict[str, str] | None = None) -> int:
    import dagster as dg

    statuses = [getattr(dg.DagsterRunStatus, s) for s in ACTIVE]
    return len(instance.get_runs(filters=dg.RunsFilter(statuses=statuses, tags=tags or {})))


def _webhook_materializations(instance, key: tuple[str, ...], after: float) -> list[float]:
    """Timestamps of ``key``'s materializations after ``after`` by webhook-triggered runs: the
    runs that carry the burst's records (the discovery sensor's and the automation's runs that
    follow find them already loaded)."""
    records = _records_after(instance, key, after)
    runs = {r.run_id for r in records}
    webhook = {
        run_id
        for run_id in runs
        if (run := instance.get_run_by_id(run_id)) is not None
        and run.tags.get(TRIGGER) == "webhook"
    }
    return sorted(r.timestamp for r in records if r.run_id in webhook)


def webhook_mode(args: argparse.Namespace) -> dict:
    import dagster as dg

    from bench.run import _free_port, _run, _start_simulator, _sync_env
    from bench.simulator import CHANGE_ONE_PATH

    work = Path(tempfile.mkdtemp(prefix="invivo-bench-webhook-"))
    sim_port, receiver_port, ui_port = _free_port(), _free_port(), _free_port()
    base = f"http://127.0.0.1:{sim_port}"
    env = _sync_env(base, work) | {
        "INVIVO_WEBHOOK_DB": str(work / "webhook_events.sqlite"),
        "INVIVO_WEBHOOK_SECRET": SECRET,
    }
    home = Path(env["DAGSTER_HOME"])
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    receiver_url = f"http://127.0.0.1:{receiver_port}/webhooks/invivo"
    hook = ("--webhook-url", receiver_url, "--webhook-secret", SECRET)
    server, _ = _start_simulator(args, env, sim_port, hook)
    started: list[subprocess.Popen] = []
    logs = work / "logs"
    logs.mkdir()

    def start(name: str, argv: list[str]) -> None:
        with open(logs / f"{name}.log", "w") as log:
            started.append(
                subprocess.Popen(
                    argv,
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    try:
        start("receiver", [sys.executable, "-m", "invivo_pipeline", "webhooks", "serve",
                           "--port", str(receiver_port)])  # fmt: skip
        sync = _run(["-m", "invivo_pipeline", "sync", "--quiet"], env, server.pid)
        figures: dict = {
            "mode": "webhook",
            "scale": [args.studies, args.animals, args.days],
            "full_sync_ok": sync["ok"],
            "full_sync_seconds": round(sync["seconds"], 1),
            "full_sync_peak_rss_mb": round(sync["peak_rss_mb"]),
        }
        if not sync["ok"]:
            return figures | {"error": sync["error"]}
        dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
        start("dagster", [dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1",
                          "-p", str(ui_port)])  # fmt: skip
        # deploy/dagster.yaml places the event log under $DAGSTER_HOME, as for the daemon.
        os.environ["DAGSTER_HOME"] = str(home)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            # The daemon is up once the discovery sensor has ticked (it lists the studies).
            _wait(
                "the daemon's first discovery tick",
                lambda: (
                    httpx.get(f"{base}/_simulator/stats", timeout=5)
                    .json()["by_route"]
                    .get("/studies")
                    or None
                ),
                300,
            )
            time.sleep(5)  # let the first ticks of every sensor finish
            t0 = time.time()
            changed = httpx.post(base + CHANGE_ONE_PATH, timeout=300).json()
            delivered = time.time()
            study = changed["study_id"]
            raw = _wait(
                "event → raw",
                lambda: next(iter(_materialized_after(instance, RAW, t0, study)), None),
                600,
            )
            marts = _wait(
                "event → marts",
                lambda: next((t for t in _materialized_after(instance, MARTS, raw)), None),
                600,
            )
            page = _wait(
                "event → page",
                lambda: next((t for t in _materialized_after(instance, PAGE, marts - 1)), None),
                600,
            )
            figures["one_study"] = {
                "study_id": study,
                "events": changed.get("events"),
                "delivery_seconds": round(delivered - t0, 2),
                "event_to_raw_seconds": round(raw - delivered, 1),
                "event_to_marts_seconds": round(marts - delivered, 1),
                "event_to_page_seconds": round(page - delivered, 1),
                "run": _run_breakdown(instance, RAW, t0, study, delivered),
            }
            _wait("the one study's runs to end", lambda: _active_runs(instance) == 0 or None, 600)
            figures["one_study"]["dbt"] = _dbt_timings(Path(env["INVIVO_DUCKDB_PATH"]))
            time.sleep(30)  # an automation tick that might follow (it should find nothing to do)
            _wait("quiet", lambda: _active_runs(instance) == 0 or None, 600)

            t1 = time.time()
            day = httpx.post(f"{base}/_simulator/advance", params={"days": 1}, timeout=600).json()
            delivered = time.time()

            def settled() -> float | None:
                # No webhook run queued or running for longer than the sensor may keep studies
                # pending (15 s) plus a tick: the burst is in.
                if _active_runs(instance, {TRIGGER: "webhook"}):
                    return None
                built = _webhook_materializations(instance, MARTS, t1)
                if not built or time.time() - built[-1] < 35:
                    return None
                return built[-1]

            try:
                last_marts = _wait("burst → marts", settled, 1200, interval=1)
            except TimeoutError as exc:  # keep the one-study figures
                return figures | {"burst": {"error": str(exc), "events": day.get("events")}}
            since = datetime.fromtimestamp(t1, tz=UTC)
            runs = instance.get_run_records(
                filters=dg.RunsFilter(tags={TRIGGER: "webhook"}, created_after=since)
            )
            every = instance.get_run_records(filters=dg.RunsFilter(created_after=since))
            figures["burst"] = {
                "events": day.get("events"),
                "measurements": day.get("created", {}).get("measurements"),
                "delivery_seconds": round(delivered - t1, 1),
                "webhook_runs": len(runs),
                "webhook_run_studies": [r.dagster_run.tags.get("invivo/reason", "") for r in runs],
                "other_runs": sorted(
                    f"{r.dagster_run.job_name} ({r.dagster_run.tags.get(TRIGGER, '-')})"
                    for r in every
                    if r.dagster_run.tags.get(TRIGGER) != "webhook"
                ),
                "event_to_marts_seconds": round(last_marts - delivered, 1),
                "webhook_run_timelines": [
                    _run_timeline(instance, r, delivered) for r in reversed(runs)
                ],
            }
        return figures
    finally:
        # Each in its own session: its whole group goes, `dagster dev`'s daemon and code server
        # too, by force if it does not stop in time (a daemon left running would go on ticking).
        for proc in started:
            with suppress(OSError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        server.terminate()
        server.wait(timeout=30)
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
