"""Rate limits, server errors, latency and truncated bodies, each counted in /_simulator/stats."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx

from invivo_pipeline.sources.invivo.simulator.generate.world import World
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SimulatorSettings,
)
from invivo_pipeline.sources.invivo.table import API_PREFIX, TOKEN_PATH
from invivo_pipeline_tests.support.simulator_api import api_client


def _statuses(client: httpx.Client, count: int, path: str = "/studies") -> list[httpx.Response]:
    return [client.get(path) for _ in range(count)]


def test_a_burst_beyond_the_rate_limit_gets_429_with_retry_after(world: World):
    settings = SimulatorSettings(rate_limit_per_minute=5)
    with SimulatorServer(settings=settings, world=world) as server, api_client(server) as client:
        responses = _statuses(client, 9)
        assert [r.status_code for r in responses] == [200] * 5 + [429] * 4
        for response in responses[5:]:
            retry_after = int(response.headers["Retry-After"])
            assert 1 <= retry_after <= 60
            assert response.json() == {"message": "Too Many Attempts."}
        assert responses[0].headers["X-RateLimit-Limit"] == "5"
        stats = server.stats()
        assert stats["faults"]["rate_limited"] == 4
        assert stats["requests"] == 9
        assert stats["token_requests"] == 1  # the token endpoint is never limited


def test_error_rate_gives_json_5xx(world: World):
    settings = SimulatorSettings(error_rate=0.5, fault_seed=3)
    with SimulatorServer(settings=settings, world=world) as server, api_client(server) as client:
        responses = _statuses(client, 40)
        errors = [r for r in responses if r.status_code >= 500]
        assert 5 <= len(errors) <= 35
        assert {r.status_code for r in errors} <= {500, 502, 503}
        assert all(isinstance(r.json()["message"], str) for r in errors)
        assert all(r.status_code == 200 for r in responses if r not in errors)
        assert server.stats()["faults"]["server_error"] == len(errors)


def test_faults_are_reproducible_from_the_seed(world: World):
    def run() -> list[int]:
        settings = SimulatorSettings(error_rate=0.3, malformed_rate=0.3, fault_seed=9)
        with SimulatorServer(settings=settings, world=world) as server, api_client(server) as c:
            return [r.status_code * 10 + _is_json(r) for r in _statuses(c, 30)]

    assert run() == run()


def _is_json(response: httpx.Response) -> int:
    try:
        json.loads(response.content)
    except ValueError:
        return 0
    return 1


def test_malformed_rate_truncates_200_bodies(world: World):
    settings = SimulatorSettings(malformed_rate=0.5, fault_seed=5)
    with SimulatorServer(settings=settings, world=world) as server, api_client(server) as client:
        responses = _statuses(client, 40, "/animals")
        broken = [r for r in responses if not _is_json(r)]
        assert 5 <= len(broken) <= 35
        assert all(r.status_code == 200 for r in responses)
        assert all(r.content.startswith(b'{"data":[') for r in broken)
        assert server.stats()["faults"]["malformed"] == len(broken)


def test_token_and_stats_endpoints_are_never_faulted(world: World):
    settings = SimulatorSettings(error_rate=1.0, rate_limit_per_minute=1)
    with SimulatorServer(settings=settings, world=world) as server:
        for _ in range(3):
            token = httpx.post(
                server.base_url + TOKEN_PATH,
                json={
                    "grant_type": "client_credentials",
                    "client_id": DEMO_CLIENT_ID,
                    "client_secret": DEMO_CLIENT_SECRET,
                },
            )
            assert token.status_code == 200
            assert httpx.get(server.base_url + "/_simulator/stats").status_code == 200
        first = httpx.get(server.base_url + API_PREFIX + "/studies")
        assert first.status_code in (500, 502, 503)
        assert httpx.get(server.base_url + API_PREFIX + "/studies").status_code == 429


def test_latency_and_concurrency_are_measured(world: World):
    settings = SimulatorSettings(latency_ms=150)
    with SimulatorServer(settings=settings, world=world) as server, api_client(server) as client:
        with ThreadPoolExecutor(6) as pool:
            responses = list(pool.map(lambda _: client.get("/users"), range(6)))
        assert all(r.status_code == 200 for r in responses)
        stats = server.stats()
        assert stats["max_in_flight"] >= 3
        assert stats["by_route"] == {"/users": 6}
        assert httpx.get(server.base_url + "/_simulator/stats").json()["requests"] == 6


def test_stats_count_and_reset(server: SimulatorServer, api: httpx.Client):
    httpx.post(server.base_url + "/_simulator/stats/reset").raise_for_status()
    api.get("/studies")
    api.get("/studies/sdy_unknown")
    httpx.get(server.base_url + API_PREFIX + "/studies")  # no token
    stats = httpx.get(server.base_url + "/_simulator/stats").json()
    assert stats["requests"] == 3
    assert stats["unauthorized"] == 1
    assert stats["by_route"] == {"/studies": 2, "/studies/{id}": 1}
    assert stats["by_status"] == {"200": 1, "401": 1, "404": 1}
    assert set(stats) >= {"token_requests", "faults", "max_in_flight"}
    assert stats == server.stats()
