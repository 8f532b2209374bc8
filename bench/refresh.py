"""``python -m bench.refresh baseline|refresh``: what the discovery sensor and the study run it
launches cost, run as a process of its own (the product's functions, without the Dagster daemon).

- ``baseline``: one discovery tick with the probe due, as after ``invivo sync``: every study is
  known and loaded, so it only records ``updated_at``, status and the probe's totals (the cursor).
- ``refresh``: the next tick with the probe due; every study it finds changed is reloaded (all its
  tables, plus ``studies`` and ``cages`` as the sensor's global run does) in one session.

Prints one JSON line. The API and the warehouse come from the usual ``INVIVO_*`` variables.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.sources.invivo.automation.discovery import DiscoveryCursor, discover
from invivo_pipeline.sources.invivo.automation.settings import DEFAULT_PROBE_RESOURCES
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.sources.invivo.ingest import STUDY_NAMES, ingest
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import Warehouse

SENSOR_GLOBALS = ("studies", "cages")
"""What the discovery sensor reloads among the global tables when a study changed."""


async def _tick(config: ClientConfig, cursor: DiscoveryCursor, known: list[str]):
    async with InVivoClient(config) as client:
        return await discover(
            client,
            cursor,
            registered=known,
            materialized=known,
            probe_resources=DEFAULT_PROBE_RESOURCES,
            probe_interval_s=0,
            now=time.time(),
        )


async def _reload(config: ClientConfig, study_ids: list[str]):
    async with InVivoClient(config) as client:
        with Warehouse(resources=RESOURCES).session() as session:
            return await ingest(
                client,
                session,
                global_names=SENSOR_GLOBALS,
                study_ids=study_ids,
                study_names=STUDY_NAMES,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.refresh")
    parser.add_argument("step", choices=["baseline", "refresh"])
    parser.add_argument("--cursor", type=Path, required=True)
    args = parser.parse_args(argv)
    config = ClientConfig.from_env()
    started = time.perf_counter()
    if args.step == "baseline":
        known = run_sync(_list_ids(config))
        plan = run_sync(_tick(config, DiscoveryCursor(), known))
        args.cursor.write_text(json.dumps({"cursor": plan.cursor.to_json(), "known": known}))
        print(json.dumps({"tick_requests": plan.requests, "refresh": len(plan.refresh)}))
        return 0
    saved = json.loads(args.cursor.read_text())
    plan = run_sync(_tick(config, DiscoveryCursor.from_json(saved["cursor"]), saved["known"]))
    tick_seconds = time.perf_counter() - started
    changed = [r.study_id for r in plan.refresh]
    run = run_sync(_reload(config, changed))
    print(
        json.dumps(
            {
                "studies_listed": plan.listed,
                "studies_probed": plan.probed,
                "tick_requests": plan.requests,
                "tick_seconds": round(tick_seconds, 2),
                "studies_refreshed": changed,
                "reasons": [r.reason for r in plan.refresh],
                "reload_requests": int(run.metrics["requests"]),
                "reload_minimum_requests": int(run.metrics["minimum_requests"]) + 1,
                "reload_seconds": round(run.seconds, 2),
                "rows_written": sum(r.rows_written for r in run.loads),
                "partitions_rewritten": sum(not r.unchanged for r in run.loads),
            }
        )
    )
    return 0


async def _list_ids(config: ClientConfig) -> list[str]:
    async with InVivoClient(config) as client:
        return await client.list_study_ids()


if __name__ == "__main__":
    raise SystemExit(main())
