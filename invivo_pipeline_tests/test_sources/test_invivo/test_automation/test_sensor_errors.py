"""A sensor tick against a broken server fails with the cause in one line, and in bounded time."""

from __future__ import annotations

import time

import dagster as dg
import pytest

from invivo_pipeline.core.errors import DeadlineExceededError, MalformedResponseError
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline_tests.support.hostile_proxy import Alteration, HostileProxy
from invivo_pipeline_tests.support.sensing import discover


@pytest.fixture(scope="module")
def proxy():
    world = WorldConfig(seed=71, studies=2, animals_per_study=2, days=2)
    with SimulatorServer(world) as server, HostileProxy(server.base_url) as hostile:
        yield hostile


@pytest.mark.parametrize(
    ("alteration", "env", "error", "expected"),
    [
        (Alteration("/studies", "endless_pages"), {}, MalformedResponseError,
         "inconsistent paging metadata"),
        (Alteration("/studies", "drip", every_s=0.5), {"INVIVO_REQUEST_DEADLINE_S": "2"},
         DeadlineExceededError, "2 s deadline"),
    ],
    ids=["endless-pages", "drip-fed"],
)  # fmt: skip
def test_discovery_fails_with_the_cause_in_bounded_time(
    proxy, monkeypatch, alteration, env, error, expected
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    proxy.alteration = alteration
    started = time.monotonic()
    with pytest.raises(error) as caught:
        discover(proxy, dg.DagsterInstance.ephemeral())
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert expected in message and "/api/public/v1/studies" in message and "\n" not in message
