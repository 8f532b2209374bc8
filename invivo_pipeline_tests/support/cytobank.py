"""Shared by the Cytobank tests: a small In Vivo world, its Cytobank simulator, a full load."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from invivo_pipeline.sources.cytobank.client import CytobankClient
from invivo_pipeline.sources.cytobank.config import CytobankConfig
from invivo_pipeline.sources.cytobank.ingest import ingest_cytobank
from invivo_pipeline.sources.cytobank.simulator.server import CytobankSimulatorServer
from invivo_pipeline.sources.cytobank.simulator.settings import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    CytobankSimulatorSettings,
)
from invivo_pipeline.sources.cytobank.table import CYTOBANK_RESOURCES
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig, build_world
from invivo_pipeline.warehouse import Warehouse
from invivo_pipeline.warehouse.ingest_run import IngestRun

SMALL_WORLD = WorldConfig(studies=2, animals_per_study=12, days=14)


def simulator(**settings: Any) -> CytobankSimulatorServer:
    return CytobankSimulatorServer(
        world=build_world(SMALL_WORLD), settings=CytobankSimulatorSettings(**settings)
    )


def config(server: CytobankSimulatorServer, **overrides: Any) -> CytobankConfig:
    values: dict[str, Any] = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    values.update(overrides)
    return CytobankConfig(server.api_root, **values)


def cytobank_warehouse(path: Path) -> Warehouse:
    return Warehouse(path, resources=CYTOBANK_RESOURCES, lock_timeout=10, busy_timeout=2)


def load_everything(cfg: CytobankConfig, wh: Warehouse, only: list[str] | None = None) -> IngestRun:
    async def run() -> IngestRun:
        async with CytobankClient(cfg) as client:
            listed = [str(e["id"]) for e in await client.list_experiments()]
            with wh.session() as session:
                return await ingest_cytobank(client, session, experiment_ids=only or listed)

    return asyncio.run(run())
