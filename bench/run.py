"""``python -m bench``: how fast and lean the pipeline is, as one JSON line of figures per mode.

Modes:
- ``http``: the simulator in its own process (``bench.simulator``), ``invivo sync`` into a fresh
  DuckDB file in another: wall seconds, records/s, requests against the minimum, peak RSS, the
  DuckDB file size, each Dagster step's seconds (ingestion, dbt) and the client's share of CPU
  while ingesting. Then the incremental refresh: exactly one study lives one more day, and the
  discovery sensor's tick plus the study run it launches (``bench.refresh``) are measured.
  ``--resync`` also times a second ``invivo sync`` (it lists every partition again).
- ``replay``: answers recorded once from an in-process simulator are replayed with no server, so
  the figure is the pipeline's own cost (decode → validate → flatten → load) per record, reported
  as a ratio to DuckDB's native ``read_json`` of the same records, timed in the same run (absolute
  figures drift on shared machines; the ratio does not). ``--profile`` writes a pyinstrument
  profile of the replayed run.
- ``reconcile``, ``discovery``: the automation at scale (``bench.automation``); not in ``all``.
- ``instance`` and ``budget`` (``bench.deployment``, not in ``all``): Dagster's bookkeeping on
  SQLite against PostgreSQL, and the 429s of two processes sharing one request budget.
- ``webhook`` (``bench.webhooks``, not in ``all``): event → raw, marts and study page through the
  deployed automation at the default intervals, for one study and for a day's burst.
- ``paced``: ``invivo sync`` of ``--paced-studies`` studies against a simulator that enforces a real
  API's rate limit (``PACED_LIMIT``), the client configured to it: how long the API requests took
  against the least time the limit allows, and how busy the client was meanwhile. The unpaced
  simulator answers a page for a fraction of what it costs any client to load it, so ``http``'s
  CPU share says what the client costs, and this mode says whether that cost limits a sync.

The default scale, 200 studies x 50 animals x 40 days, is the issue's; the simulated studies start
at different dates and some are drafts, so it yields about 290k measurements, not 400k (the JSON
says how many records there were). ``--scale 4`` multiplies the number of studies.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"requests: ([\d,]+) \(minimum possible ([\d,]+)")
TICK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """The process's own CPU (user + system), not its children's."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _own_peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _Sampler(threading.Thread):
    """Every 0.2 s: the CPU seconds of the watched process and of the simulator, and the watched
    process's own peak RSS (its dbt subprocess excluded), until the process ends."""

    def __init__(self, pid: int, simulator_pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.simulator_pid = pid, simulator_pid
        self.samples: list[tuple[float, float, float]] = []
        self.own_peak_rss_mb = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.samples.append(
                    (time.time(), _cpu_seconds(self.pid), _cpu_seconds(self.simulator_pid))
                )
                self.own_peak_rss_mb = max(self.own_peak_rss_mb, _own_peak_rss_mb(self.pid))
            except (OSError, IndexError):
                pass
            self.done.wait(0.2)

    def cpu_between(self, start: float, end: float) -> tuple[float, float]:
        """CPU seconds of (process, simulator) between two wall-clock times."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return 0.0, 0.0
        return inside[-1][1] - inside[0][1], inside[-1][2] - inside[0][2]


def _run(args: list[str], env: dict[str, str], simulator_pid: int) -> dict:
    """One process; its wall time, CPU and peak RSS (``wait4``: its dbt subprocess included)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT, env={**env, "COLUMNS": "200"}, stdout=out, stderr=err, text=True,
        )  # fmt: skip
        sampler = _Sampler(proc.pid, simulator_pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        sampler.done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return {
        "ok": proc.returncode == 0,
        "stdout": stdout,
        "error": "" if proc.returncode == 0 else (stderr.strip() or stdout.strip())[-400:],
        "seconds": time.perf_counter() - started,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "sampler": sampler,
    }


Span = tuple[float, float]


def _steps(dagster_home: Path) -> tuple[dict[str, Span], dict[str, int], dict[str, Span]]:
    """(start, end) of each step of the latest Dagster run recorded in ``dagster_home``; the
    sums of the ingestion assets' ``requests`` and ``minimum_requests`` metadata (what
    ``invivo sync`` prints, without its token and discovery requests: it prints nothing when
    a later step fails); and the phases of the run that are Dagster's own bookkeeping rather than
    the pipeline's work: ``planning`` (recording the planned materializations, before the run
    starts), and within the ingestion step ``fetch_load`` (until the step yields its first
    materialization) then ``recording`` (Dagster storing one materialization per partition)."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return {}, {}, {}
        stats = instance.get_run_step_stats(runs[0].run_id)
        # Every partition's materialization of an asset carries the run's figures for its
        # resource: one value per asset, summed over the assets.
        per_asset: dict[tuple[str, object], int] = {}
        for step in stats:
            for event in step.materialization_events:
                materialization = event.dagster_event.step_materialization_data.materialization
                for key in ("requests", "minimum_requests"):
                    if key in materialization.metadata:
                        value = int(materialization.metadata[key].value)
                        per_asset[(key, materialization.asset_key)] = value
        sums = {
            key: sum(v for (k, _), v in per_asset.items() if k == key)
            for key in ("requests", "minimum_requests")
        }
        steps = {
            s.step_key: (s.start_time, s.end_time) for s in stats if s.start_time and s.end_time
        }
        return steps, sums, _phases(instance, runs[0].run_id, steps)


def _ingest_step(steps: dict[str, Span]) -> str | None:
    """The run's first step that is not dbt's: the ingestion (the reports come after dbt)."""
    return next((k for k in steps if "dbt" not in k), None)


def _phases(instance, run_id: str, steps: dict[str, Span]) -> dict[str, Span]:
    from dagster import DagsterEventType as Type

    logs = instance.all_logs(
        run_id,
        of_type={Type.ASSET_MATERIALIZATION_PLANNED, Type.RUN_START, Type.ASSET_MATERIALIZATION},
    )
    first = {}
    for log in logs:
        key = (log.dagster_event.event_type, log.step_key)
        first.setdefault(key, log.timestamp)
    phases = {}
    planned = [t for (kind, _), t in first.items() if kind == Type.ASSET_MATERIALIZATION_PLANNED]
    if planned and (Type.RUN_START, None) in first:
        phases["planning"] = (min(planned), first[(Type.RUN_START, None)])
    ingest_step = _ingest_step(steps)
    if ingest_step and (done := first.get((Type.ASSET_MATERIALIZATION, ingest_step))):
        phases["fetch_load"] = (steps[ingest_step][0], done)
        phases["recording"] = (done, steps[ingest_step][1])
    return phases


def _start_simulator(
    args: argparse.Namespace, env: dict[str, str], port: int, extra: tuple[str, ...] = ()
):
    server = subprocess.Popen(
        [
            sys.executable, "-m", "bench.simulator", "--port", str(port),
            "--studies", str(args.studies), "--animals", str(args.animals),
            "--days", str(args.days), *extra,
        ],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    started = time.perf_counter()
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/_simulator/stats", timeout=1).raise_for_status()
            return server, time.perf_counter() - started
        except httpx.HTTPError:
            if server.poll() is not None or time.perf_counter() - started > 600:
                raise SystemExit(f"simulator did not start: {server.stderr.read()}") from None
            time.sleep(0.5)


def _sync_env(base: str, work: Path) -> dict[str, str]:
    """What ``invivo sync`` is run with: the simulator's URL and demo credentials, and a fresh
    DuckDB file and Dagster home in ``work``."""
    (work / "dagster_home").mkdir()
    return {
        **os.environ,
        "INVIVO_BASE_URL": base,
        "INVIVO_CLIENT_ID": "invivo-demo-client",
        "INVIVO_CLIENT_SECRET": "invivo-demo-secret",
        "INVIVO_DUCKDB_PATH": str(work / "invivo.duckdb"),
        "DAGSTER_HOME": str(work / "dagster_home"),
    }


def http_mode(args: argparse.Namespace) -> dict:

    work = Path(tempfile.mkdtemp(prefix="invivo-bench-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    database = work / "invivo.duckdb"
    env = _sync_env(base, work)
    server, world_seconds = _start_simulator(args, env, port)
    try:
        full = _run(["-m", "invivo_pipeline", "sync", "--quiet"], env, server.pid)
        found = SUMMARY.search(full["stdout"].replace("\n", " "))
        steps, api, phases = _steps(work / "dagster_home")
        if found:
            made, minimum = (int(g.replace(",", "")) for g in found.groups())
        else:  # the run failed after ingesting: the assets' metadata, plus the one token
            made, minimum = api["requests"] + 1, api["minimum_requests"] + 1
        figures: dict = {
            "mode": "http",
            "scale": [args.studies, args.animals, args.days],
            "world_build_seconds": round(world_seconds, 1),
            "full_sync_ok": full["ok"],
            "full_sync_error": full["error"] or None,
            "full_sync_seconds": round(full["seconds"], 2),
            "stage_seconds": {k: round(end - start, 2) for k, (start, end) in steps.items()},
            "requests": made,
            "minimum_requests": minimum,
            "request_ratio": round(made / max(1, minimum), 4),
            "peak_rss_mb": round(full["sampler"].own_peak_rss_mb),
            "peak_rss_with_dbt_mb": round(full["peak_rss_mb"]),
            "sync_cpu_seconds": round(full["cpu_seconds"], 1),
        }
        ingest_step = _ingest_step(steps)
        if ingest_step:
            client_cpu, sim_cpu = full["sampler"].cpu_between(*steps[ingest_step])
            figures["ingest_client_cpu_seconds"] = round(client_cpu, 1)
            figures["ingest_simulator_cpu_seconds"] = round(sim_cpu, 1)
            figures["client_cpu_share"] = round(client_cpu / max(1e-9, client_cpu + sim_cpu), 3)
        figures["phase_seconds"] = {k: round(end - start, 2) for k, (start, end) in phases.items()}
        if "fetch_load" in phases:
            # The same share without Dagster's recording of the step's materializations.
            client_cpu, sim_cpu = full["sampler"].cpu_between(*phases["fetch_load"])
            figures["fetch_load_client_cpu_share"] = round(
                client_cpu / max(1e-9, client_cpu + sim_cpu), 3
            )
            # What each side spends on one page: the client's figure is what bounds the pages per
            # second it can take in, whatever the server (see the ``paced`` mode).
            figures["client_cpu_ms_per_request"] = round(1000 * client_cpu / max(1, made), 2)
            figures["simulator_cpu_ms_per_request"] = round(1000 * sim_cpu / max(1, made), 2)
        if database.exists():
            figures["duckdb_mb"] = round(database.stat().st_size / 2**20, 1)
            records = _record_count(database)
            figures["records"] = records
            figures["measurements"] = _record_count(database, "measurements")
            ingest_seconds = (
                steps[ingest_step][1] - steps[ingest_step][0] if ingest_step else full["seconds"]
            )
            figures["ingest_records_per_s"] = round(records / ingest_seconds)
            figures["records_per_s"] = round(records / full["seconds"])
        figures["incremental"] = _incremental(base, env, server.pid, work)
        if args.resync:
            again = _run(["-m", "invivo_pipeline", "sync", "--quiet"], env, server.pid)
            found = SUMMARY.search(again["stdout"].replace("\n", " "))
            resync_steps = _steps(work / "dagster_home")[0]
            figures["resync"] = {
                "ok": again["ok"],
                "seconds": round(again["seconds"], 2),
                "requests": int(found.group(1).replace(",", "")) if found else None,
                # After the incremental refresh above: one study changed since the full sync.
                "stage_seconds": {
                    k: round(end - start, 2) for k, (start, end) in resync_steps.items()
                },
            }
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def _incremental(base: str, env: dict[str, str], simulator_pid: int, work: Path) -> dict:
    """Sensor tick (baseline) → one study changes → sensor tick + the study run it launches."""
    from bench.simulator import CHANGE_ONE_PATH

    cursor = str(work / "cursor.json")
    baseline = _run(["-m", "bench.refresh", "baseline", "--cursor", cursor], env, simulator_pid)
    if not baseline["ok"]:
        return {"error": baseline["error"]}
    changed = httpx.post(base + CHANGE_ONE_PATH, timeout=120).json()
    refresh = _run(["-m", "bench.refresh", "refresh", "--cursor", cursor], env, simulator_pid)
    if not refresh["ok"]:
        return {"error": refresh["error"]}
    return {
        "changed_study": changed["study_id"],
        "created": changed["created"],
        **json.loads(refresh["stdout"].strip().splitlines()[-1]),
        "process_seconds": round(refresh["seconds"], 2),
        "peak_rss_mb": round(refresh["peak_rss_mb"]),
    }


PACED_LIMIT = (600, 60.0)
"""Requests per window in ``paced`` mode: Benchling documents 300 requests per 30 s for an app's
client-credentials key (the In Vivo reference states no figure); the client's budget is set per
minute, so the same rate is enforced as 600 per 60 s on both sides."""


def paced_mode(args: argparse.Namespace) -> dict:
    """``invivo sync`` against a simulator that enforces a real API's rate limit, with the client
    configured to that limit as a deployment would be: is the client or the server the limit?

    If the client keeps up, the API requests span about the least time the limit allows (each
    window's requests go out at its start, and the client then waits for the next) and the client
    is busy for a small share of that span."""
    limit, window = PACED_LIMIT
    work = Path(tempfile.mkdtemp(prefix="invivo-paced-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**_sync_env(base, work), "INVIVO_REQUESTS_PER_MINUTE": str(limit * 60 / window)}
    scaled = argparse.Namespace(**{**vars(args), "studies": args.paced_studies})
    extra = ("--rate-limit", str(limit), "--rate-window", str(window))
    server, _ = _start_simulator(scaled, env, port, extra)
    try:
        sync = _run(["-m", "invivo_pipeline", "sync", "--quiet"], env, server.pid)
        stats = httpx.get(f"{base}/_simulator/stats", timeout=30).json()
        from bench.simulator import REQUEST_SPAN_PATH

        span = httpx.get(base + REQUEST_SPAN_PATH, timeout=30).json()
        admitted = stats["requests"] - stats["faults"]["rate_limited"]
        least = ((admitted - 1) // limit) * window
        seconds = span["last"] - span["first"]
        client_cpu, sim_cpu = sync["sampler"].cpu_between(span["first"], span["last"])
        return {
            "mode": "paced",
            "scale": [args.paced_studies, args.animals, args.days],
            "rate_limit": f"{limit} requests / {window:g} s",
            "sync_ok": sync["ok"],
            "sync_error": sync["error"] or None,
            "api_requests": admitted,
            "rate_limited_429": stats["faults"]["rate_limited"],
            "request_span_seconds": round(seconds, 1),
            "least_seconds_the_limit_allows": least,
            "span_over_least": round(seconds / least, 3) if least else None,
            "client_cpu_seconds_in_span": round(client_cpu, 1),
            "simulator_cpu_seconds_in_span": round(sim_cpu, 1),
            "client_busy_share_of_span": round(client_cpu / max(1e-9, seconds), 3),
            "client_cpu_share": round(client_cpu / max(1e-9, client_cpu + sim_cpu), 3),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def _record_count(database: Path, table: str | None = None) -> int:
    import duckdb

    from invivo_pipeline.sources.invivo.table import RESOURCES

    names = [table] if table else [r.name for r in RESOURCES]
    with duckdb.connect(str(database), read_only=True) as con:
        return sum(
            con.execute(f"SELECT count(*) FROM invivo_raw.{name}").fetchall()[0][0]
            for name in names
        )


def replay_mode(args: argparse.Namespace) -> dict:
    from bench.ceiling import native_load_seconds, write_ndjson
    from bench.recording import RecordingTransport, ReplayTransport
    from invivo_pipeline.core.batches import run_sync
    from invivo_pipeline.sources.invivo.client import InVivoClient
    from invivo_pipeline.sources.invivo.config import ClientConfig
    from invivo_pipeline.sources.invivo.ingest import GLOBAL_NAMES, STUDY_NAMES, ingest
    from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
    from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
    from invivo_pipeline.sources.invivo.simulator.serve.settings import (
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
    )
    from invivo_pipeline.sources.invivo.study_processes import StudyProcesses
    from invivo_pipeline.sources.invivo.table import RESOURCES
    from invivo_pipeline.warehouse import Warehouse

    work = Path(tempfile.mkdtemp(prefix="invivo-replay-"))
    world = WorldConfig(studies=args.studies, animals_per_study=args.animals, days=args.days)

    async def sync(base_url: str, transport, study_ids, database: Path, processes=None):
        config = ClientConfig(base_url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        async with InVivoClient(config, transport=transport) as client:
            with Warehouse(database, resources=RESOURCES).session() as session:
                return await ingest(
                    client, session, global_names=GLOBAL_NAMES, study_ids=study_ids,
                    study_names=STUDY_NAMES, processes=processes,
                )  # fmt: skip

    try:
        with SimulatorServer(world) as server:
            study_ids = [r.body["id"] for r in server.world.records("studies")]
            recorder = RecordingTransport()
            run_sync(sync(server.base_url, recorder, study_ids, work / "warm.duckdb"))
            # The ceiling's input, written now so that neither the world nor its records are in
            # memory while the pipeline is timed.
            counts = {
                name: len(server.world.records(name)) for name in (*GLOBAL_NAMES, *STUDY_NAMES)
            }
            paths = write_ndjson(
                {name: [r.raw for r in server.world.records(name)] for name in counts},
                work / "ndjson",
            )
            base_url = server.base_url
        records = sum(counts.values())
        gc.collect()
        answers = recorder.answers
        # The product's worker processes, forked so that they inherit the recording (it is not
        # sent to them); 0 keeps the run in one process.
        default = ClientConfig(base_url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).ingest_processes
        workers = default if args.processes is None else args.processes
        processes = (
            StudyProcesses(workers, "fork", lambda: ReplayTransport(answers)) if workers else None
        )
        replay = sync(base_url, ReplayTransport(answers), study_ids, work / "r.duckdb", processes)
        profiler = _profiler(args.profile)
        started, cpu_started = time.perf_counter(), _cpu_seconds(os.getpid())
        run = run_sync(replay)
        pipeline_seconds = time.perf_counter() - started
        pipeline_cpu = _cpu_seconds(os.getpid()) - cpu_started
        if profiler is not None:
            profiler.stop()
            Path(args.profile).write_text(profiler.output_text(unicode=False))
        loaded = sum(r.rows_written for r in run.loads)
        cpu_started = _cpu_seconds(os.getpid())
        native_seconds = native_load_seconds(paths, work / "native.duckdb")
        native_cpu = _cpu_seconds(os.getpid()) - cpu_started
        return {
            "mode": "replay",
            "scale": [args.studies, args.animals, args.days],
            "study_processes": workers,
            "records": loaded,
            "world_records": records,
            "pipeline_seconds": round(pipeline_seconds, 2),
            "pipeline_records_per_s": round(loaded / pipeline_seconds),
            "native_read_json_seconds": round(native_seconds, 2),
            "native_records_per_s": round(records / native_seconds),
            "ratio_to_native": round((loaded / pipeline_seconds) / (records / native_seconds), 3),
            # CPU of every thread (DuckDB's included): what each costs, whatever the overlap.
            "pipeline_cpu_seconds": round(pipeline_cpu, 2),
            "native_cpu_seconds": round(native_cpu, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "note": "pipeline and native both include opening and closing (checkpointing) the "
            "file; pipeline_cpu_seconds is this process's, not its study_processes' workers'",
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _profiler(path: str | None):
    """A running pyinstrument profiler (all threads' time shows as the main thread's waits)."""
    if not path:
        return None
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="disabled")
    profiler.start()
    return profiler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mode",
        choices=[
            *("http", "replay", "paced", "reconcile", "discovery", "instance", "budget"),
            *("webhook", "all"),
        ],
        default="all",
    )
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--animals", type=int, default=50, help="animals per study")
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the number of studies (memory check)"
    )
    parser.add_argument("--resync", action="store_true", help="http: time a second invivo sync")
    parser.add_argument("--profile", metavar="FILE", help="replay: write a pyinstrument profile")
    parser.add_argument(
        "--processes",
        type=int,
        help="replay: worker processes for the studies (default: INVIVO_INGEST_PROCESSES' default)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="webhook: keep the work folder (Dagster instance, logs, warehouse) to look into",
    )
    parser.add_argument(
        "--paced-studies", type=int, default=20, help="paced: studies (the limit makes it slow)"
    )
    parser.add_argument(
        "--compare", action="store_true", help="reconcile: also one run per study (before)"
    )
    parser.add_argument(
        "--sample", type=int, help="reconcile --compare: execute at most this many of those runs"
    )
    parser.add_argument(
        "--budget-studies", type=int, default=10, help="budget: studies each of the two syncs"
    )
    args = parser.parse_args(argv)
    args.studies = max(1, round(args.studies * args.scale))
    modes = ["http", "replay", "paced"] if args.mode == "all" else [args.mode]

    from bench.automation import discovery_mode, reconcile_mode
    from bench.deployment import budget_mode, instance_mode
    from bench.webhooks import webhook_mode

    run = {
        "http": http_mode,
        "replay": replay_mode,
        "paced": paced_mode,
        "reconcile": reconcile_mode,
        "discovery": discovery_mode,
        "instance": instance_mode,
        "budget": budget_mode,
        "webhook": webhook_mode,
    }
    for mode in modes:
        print(json.dumps(run[mode](args)), flush=True)
    return 0
