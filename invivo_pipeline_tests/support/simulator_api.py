"""One default world and one well-behaved simulator for the whole folder; fault tests start their
own servers with the settings they need."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from invivo_pipeline.sources.invivo.simulator.generate.world import World, WorldConfig, build_world
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SimulatorSettings,
)
from invivo_pipeline.sources.invivo.table import API_PREFIX, TOKEN_PATH


def get_token(base_url: str) -> str:
    response = httpx.post(
        base_url + TOKEN_PATH,
        json={
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )
    response.raise_for_status()
    return response.json()["access_token"]


def api_client(server: SimulatorServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url + API_PREFIX,
        headers={"Authorization": f"Bearer {get_token(server.base_url)}"},
        timeout=30,
    )


def fetch_all(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list route, walking page numbers (never ``links.next``)."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = client.get(path, params={**params, "perPage": 100, "page": page})
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["data"])
        if page >= body["meta"]["last_page"]:
            return items
        page += 1


@pytest.fixture(scope="session")
def world() -> World:
    return build_world(WorldConfig())


@pytest.fixture(scope="session")
def server(world: World) -> Iterator[SimulatorServer]:
    with SimulatorServer(settings=SimulatorSettings(), world=world) as running:
        yield running


@pytest.fixture(scope="session")
def api(server: SimulatorServer) -> Iterator[httpx.Client]:
    with api_client(server) as client:
        yield client
