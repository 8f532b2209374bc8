"""The same WorldConfig gives byte-identical responses; another seed gives another world; adding
studies leaves the existing ones unchanged."""

from __future__ import annotations

import httpx

from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig, build_world
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline_tests.support.simulator_api import api_client

PATHS = (
    "/studies?perPage=100",
    "/animals?perPage=100&page=2",
    "/samples?perPage=50",
    "/cages?perPage=100",
    "/users",
)


def _bodies(config: WorldConfig) -> list[bytes]:
    with SimulatorServer(config) as server, api_client(server) as client:
        study = server.world.studies[0].id
        paths = (*PATHS, f"/studies/{study}/measurements?perPage=100&page=3", f"/studies/{study}")
        bodies = [client.get(path).content for path in paths]
        # Each server listens on its own port, which appears in links and meta.path.
        return [b.replace(server.base_url.encode(), b"http://simulator") for b in bodies]


def test_same_seed_same_bytes():
    first, second = (
        _bodies(WorldConfig(seed=11, studies=3)),
        _bodies(WorldConfig(seed=11, studies=3)),
    )
    assert first == second


def test_another_seed_another_world():
    first, second = (
        _bodies(WorldConfig(seed=11, studies=3)),
        _bodies(WorldConfig(seed=12, studies=3)),
    )
    assert all(a != b for a, b in zip(first, second, strict=True))


def test_more_studies_leave_the_first_ones_unchanged():
    small, large = build_world(WorldConfig(studies=2)), build_world(WorldConfig(studies=4))
    for name in ("studies", "animals", "measurements", "dosages", "samples"):
        ours = {r.keys.get("id"): r.raw for r in small.records(name)}
        theirs = {r.keys.get("id"): r.raw for r in large.records(name)}
        assert ours and all(theirs[key] == raw for key, raw in ours.items()), name


def test_the_world_does_not_depend_on_the_clock(server: SimulatorServer, api: httpx.Client):
    studies = api.get("/studies", params={"perPage": 100}).json()["data"]
    stamps = [s["created_at"] for s in studies] + [s["updated_at"] for s in studies]
    assert max(stamps) <= f"{server.world.config.today.isoformat()}T23:59:59.999999Z"
