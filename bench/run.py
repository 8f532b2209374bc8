"""``python -m bench``: how fast and lean the pipeline is, as one JSON line of figures.

Modes:
- ``http``: the simulator in its own process, ``invivo sync`` in another (a fresh DuckDB file),
  then a re-sync after the world advanced a day (if the simulator offers it). Reports wall
  seconds, records/s, requests against the minimum, peak RSS of the sync, the DuckDB file size,
  and the client's share of CPU (sync process) against the simulator's.
- ``replay``: answers recorded once from an in-process simulator are replayed with no server, so
  the figure is the pipeline's own cost (decode → validate → flatten → load) per record, reported
  as a ratio to DuckDB's native ``read_json`` of the same records, timed in the same run (absolute
  figures drift on shared machines; the ratio does not).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"requests: ([\d,]+) \(minimum possible ([\d,]+)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_sync(env: dict[str, str]) -> dict:
    """One ``invivo sync`` in its own process; its own CPU and peak RSS from ``wait4``."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "invivo_pipeline", "sync", "--quiet"],
            cwd=ROOT, env={**env, "COLUMNS": "200"}, stdout=out, stderr=err, text=True,
        )  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"invivo sync failed: {stderr.strip() or stdout.strip()}")
    found = SUMMARY.search(stdout.replace("\n", " "))
    made, minimum = (int(g.replace(",", "")) for g in found.groups()) if found else (0, 0)
    return {
        "seconds": time.perf_counter() - started,
        "requests": made,
        "minimum_requests": minimum,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def http_mode(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="invivo-bench-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "INVIVO_BASE_URL": base,
        "INVIVO_CLIENT_ID": "invivo-demo-client",
        "INVIVO_CLIENT_SECRET": "invivo-demo-secret",
        "INVIVO_DUCKDB_PATH": str(work / "invivo.duckdb"),
        "DAGSTER_HOME": str(work / "dagster_home"),
    }
    (work / "dagster_home").mkdir()
    server = subprocess.Popen(
        [
            sys.executable, "-m", "invivo_pipeline", "simulator", "--port", str(port),
            "--studies", str(args.studies), "--animals-per-study", str(args.animals),
            "--days", str(args.days),
        ],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        started = time.perf_counter()
        while True:
            try:
                counts = httpx.get(f"{base}/_simulator/stats", timeout=1).json()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.perf_counter() - started > 600:
                    raise SystemExit(f"simulator did not start: {server.stderr.read()}") from None
                time.sleep(0.5)
        world_seconds = time.perf_counter() - started
        del counts
        sim_cpu_before = _cpu_seconds(server.pid)
        full = _run_sync(env)
        sim_cpu = _cpu_seconds(server.pid) - sim_cpu_before
        figures = {
            "mode": "http",
            "scale": [args.studies, args.animals, args.days],
            "world_build_seconds": round(world_seconds, 1),
            "full_sync_seconds": round(full["seconds"], 2),
            "requests": full["requests"],
            "minimum_requests": full["minimum_requests"],
            "request_ratio": round(full["requests"] / max(1, full["minimum_requests"]), 4),
            "peak_rss_mb": round(full["peak_rss_mb"]),
            "sync_cpu_seconds": round(full["cpu_seconds"], 1),
            "simulator_cpu_seconds": round(sim_cpu, 1),
            "client_cpu_share": round(full["cpu_seconds"] / (full["cpu_seconds"] + sim_cpu), 3),
            "duckdb_mb": round((work / "invivo.duckdb").stat().st_size / 2**20, 1),
        }
        records = _record_count(work / "invivo.duckdb")
        figures["records"] = records
        figures["records_per_s"] = round(records / full["seconds"])
        advanced = httpx.post(f"{base}/_simulator/advance", params={"days": 1}, timeout=120)
        if advanced.status_code == 200:
            again = _run_sync(env)
            figures["incremental_sync_seconds"] = round(again["seconds"], 2)
            figures["incremental_requests"] = again["requests"]
        else:
            figures["incremental_sync_seconds"] = None  # the simulator cannot advance yet
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def _record_count(database: Path) -> int:
    import duckdb

    from invivo_pipeline.resource_table import RESOURCES

    with duckdb.connect(str(database), read_only=True) as con:
        return sum(
            con.execute(f"SELECT count(*) FROM invivo_raw.{r.name}").fetchall()[0][0]
            for r in RESOURCES
        )


def replay_mode(args: argparse.Namespace) -> dict:
    from bench.ceiling import native_load_seconds, write_ndjson
    from bench.recording import RecordingTransport, ReplayTransport
    from invivo_pipeline.client import ClientConfig, InVivoClient, run_sync
    from invivo_pipeline.simulator.server import SimulatorServer
    from invivo_pipeline.simulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
    from invivo_pipeline.simulator.world import WorldConfig
    from invivo_pipeline.sync.ingest import GLOBAL_NAMES, STUDY_NAMES, ingest
    from invivo_pipeline.warehouse import Warehouse

    work = Path(tempfile.mkdtemp(prefix="invivo-replay-"))
    world = WorldConfig(studies=args.studies, animals_per_study=args.animals, days=args.days)

    async def sync(base_url: str, transport, study_ids, database: Path):
        config = ClientConfig(base_url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        async with InVivoClient(config, transport=transport) as client:
            with Warehouse(database).session() as session:
                return await ingest(
                    client, session, global_names=GLOBAL_NAMES, study_ids=study_ids,
                    study_names=STUDY_NAMES,
                )  # fmt: skip

    try:
        with SimulatorServer(world) as server:
            study_ids = [r.body["id"] for r in server.world.records("studies")]
            recorder = RecordingTransport()
            run_sync(sync(server.base_url, recorder, study_ids, work / "warm.duckdb"))
            by_table = {
                name: [r.body for r in server.world.records(name)]
                for name in (*GLOBAL_NAMES, *STUDY_NAMES)
            }
            base_url = server.base_url
        records = sum(len(v) for v in by_table.values())
        started = time.perf_counter()
        run = run_sync(
            sync(base_url, ReplayTransport(recorder.answers), study_ids, work / "r.duckdb")
        )
        pipeline_seconds = time.perf_counter() - started
        loaded = sum(r.rows_written for r in run.loads)
        paths = write_ndjson(by_table, work / "ndjson")
        native_seconds = native_load_seconds(paths, work / "native.duckdb")
        return {
            "mode": "replay",
            "scale": [args.studies, args.animals, args.days],
            "records": loaded,
            "world_records": records,
            "pipeline_seconds": round(pipeline_seconds, 2),
            "pipeline_records_per_s": round(loaded / pipeline_seconds),
            "native_read_json_seconds": round(native_seconds, 2),
            "native_records_per_s": round(records / native_seconds),
            "ratio_to_native": round((loaded / pipeline_seconds) / (records / native_seconds), 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["http", "replay", "all"], default="all")
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--animals", type=int, default=50, help="animals per study")
    parser.add_argument("--days", type=int, default=40)
    args = parser.parse_args(argv)
    modes = ["http", "replay"] if args.mode == "all" else [args.mode]
    for mode in modes:
        figures = http_mode(args) if mode == "http" else replay_mode(args)
        print(json.dumps(figures), flush=True)
    return 0
