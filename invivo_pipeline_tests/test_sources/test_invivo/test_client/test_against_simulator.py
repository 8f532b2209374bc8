"""The client against the simulator over real HTTP with every fault on at once: all data arrives,
each record exactly once, for barely more requests than the faults themselves force."""

from __future__ import annotations

from collections import Counter

import pytest

from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SimulatorSettings,
)
from invivo_pipeline.sources.invivo.table import BY_NAME
from invivo_pipeline_tests.support.tenant import expected_records, minimum_api_requests, primary_key

MAX_PER_PAGE = 25
FAULTS = SimulatorSettings(
    max_per_page=MAX_PER_PAGE,
    token_ttl_s=2,
    rate_limit_per_minute=60,  # per 3 s window below: bursts of 429 with Retry-After
    rate_limit_window_s=3,
    error_rate=0.05,
    malformed_rate=0.03,
    latency_ms=5,
    fault_seed=11,
)


@pytest.fixture(scope="module")
def faulty_tenant():
    world = WorldConfig(seed=3, studies=4, animals_per_study=16, days=12)
    with SimulatorServer(world, FAULTS) as server:
        yield server


async def _fetch_everything(server: SimulatorServer):
    config = ClientConfig(
        server.base_url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, concurrency=6, max_retries=8
    )
    async with InVivoClient(config) as client:
        batches = await client.fetch_global()
        study_ids = [r["id"] for b in batches if b.resource == "studies" for r in b.records]
        for study_id in study_ids:
            batches += await client.fetch_study(study_id)
        return batches, client.metrics


def test_everything_arrives_once_despite_every_fault(faulty_tenant):
    batches, metrics = run_sync(_fetch_everything(faulty_tenant))
    stats = faulty_tenant.stats()

    received: dict[str, Counter] = {}
    bodies: dict[str, dict] = {}
    for batch in batches:
        resource = BY_NAME[batch.resource]
        for record in batch.records:
            key = primary_key(resource, record, batch.context)
            received.setdefault(batch.resource, Counter())[key] += 1
            bodies.setdefault(batch.resource, {})[key] = record
    expected = expected_records(faulty_tenant.world)
    for table, records in expected.items():
        counts = received.get(table, Counter())
        assert [k for k, n in counts.items() if n > 1] == [], f"{table}: duplicates"
        assert set(counts) == set(records), f"{table}: missing or extra records"
        assert bodies.get(table, {}) == records, f"{table}: records differ from the API's"

    # The faults really happened, every kind of them.
    faults = stats["faults"]
    assert faults["rate_limited"] > 0 and faults["server_error"] > 0 and faults["malformed"] > 0
    assert stats["token_requests"] > 1, "a 2 s token must have been refreshed"

    # Requests: the pages at the granted size, plus what the faults forced: each faulted answer
    # costs one more request, and so does each 401 for a 2 s token that expired on its way to the
    # server (more of them when the machine is busy), besides the tokens the TTL forced.
    minimum = (
        minimum_api_requests(faulty_tenant.world, MAX_PER_PAGE)
        + sum(faults.values())
        + stats["unauthorized"]
        + stats["token_requests"]
    )
    made = metrics.requests
    assert made == stats["requests"] + stats["token_requests"], "client and server agree"
    assert made <= 1.05 * minimum, f"{made} requests for a minimum of {minimum}"
    print(f"requests {made}, minimum {minimum}, ratio {made / minimum:.3f}, faults {faults}")
