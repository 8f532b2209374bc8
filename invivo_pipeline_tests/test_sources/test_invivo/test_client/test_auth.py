"""The OAuth token: fetched once, refreshed before it expires and once on a 401, never leaked."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from invivo_pipeline.core.auth import MIN_TOKEN_REUSE_S, TokenProvider, refresh_margin, reuse_for
from invivo_pipeline.core.errors import AuthenticationError
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.sources.invivo.models import OAuthToken
from invivo_pipeline_tests.support.client import config_for, records, run_client
from invivo_pipeline_tests.support.stub_api import CLIENT_ID, CLIENT_SECRET

TOKEN_URL = "/api/public/v1/oauth/token"


@pytest.fixture
def species(stub):
    stub.state.lists["/species"] = records("spc", 3)
    return stub


def test_token_request_body_and_single_token_for_many_requests(species):
    species.state.lists["/strains"] = records("stn", 2)

    async def many(client):
        return await asyncio.gather(
            *(client.list_all(name) for name in ["species", "strains"] * 10)
        )

    run_client(species, many)

    (token_request,) = species.state.token_requests
    assert token_request.headers["content-type"] == "application/json"
    assert json.loads(token_request.body) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert len(species.state.api_requests) == 20


def test_a_short_ttl_is_reused_until_the_server_refuses_it(species):
    """The 30 s floor: a 2 s token is not refreshed early; its expiry shows as one 401."""
    species.state.token_ttl_s = 2

    async def spread(client):
        for _ in range(5):  # at about 0, 0.6, 1.2, 1.8 and 2.4 s
            await client.list_all("species")
            await asyncio.sleep(0.6)

    _, client = run_client(species, spread)

    assert len(species.state.token_requests) == 2 == client.metrics.token_requests
    assert client.metrics["species"].requests == 6, "five lists and the one that met a 401"


@pytest.mark.parametrize("expires_in", [0, -30, 1])
def test_a_token_is_reused_for_at_least_30_s_whatever_expires_in_says(species, expires_in):
    species.state.reported_expires_in = expires_in

    async def repeat(client: InVivoClient):
        for _ in range(10):
            await client.list_all("species")

    _, client = run_client(species, repeat)

    assert len(species.state.token_requests) == 1 == client.metrics.token_requests
    assert len(species.state.api_requests) == 10


def test_the_floor_still_refreshes_on_401(species):
    species.state.reported_expires_in = 0
    species.state.inject("unauthorized", "/species")

    result, _ = run_client(species, lambda c: c.list_all("species"))

    assert len(result) == 3
    assert len(species.state.token_requests) == 2


def test_refresh_margin():
    assert refresh_margin(2) == pytest.approx(0.4)
    assert refresh_margin(86400) == 60
    assert reuse_for(0) == reuse_for(-5) == reuse_for(20) == MIN_TOKEN_REUSE_S == 30
    assert reuse_for(86400) == 86400 - 60


def test_refreshes_once_on_401_and_retries_the_request(species):
    species.state.inject("unauthorized", "/species")

    result, client = run_client(species, lambda c: c.list_all("species"))

    assert len(result) == 3
    assert len(species.state.token_requests) == 2 == client.metrics.token_requests
    tokens = [s.headers["authorization"] for s in species.state.api_requests]
    assert len(tokens) == 2 and tokens[0] != tokens[1]


def test_a_second_401_is_an_authentication_error(species):
    species.state.inject("unauthorized", "/species", times=2)

    with pytest.raises(AuthenticationError) as info:
        run_client(species, lambda c: c.list_all("species"))

    message = str(info.value)
    assert message.startswith(f"GET {species.url}/api/public/v1/species?page=1&perPage=500")
    assert "still unauthorized (HTTP 401) after refreshing the access token" in message
    assert len(species.state.token_requests) == 2


def test_wrong_credentials_fail_at_once_in_one_line(species):
    with pytest.raises(AuthenticationError) as info:
        run_client(species, lambda c: c.list_all("species"), client_secret="wrong-secret-value")

    message = str(info.value)
    assert message.startswith(f"invalid client credentials for {species.url}")
    assert message.endswith(": Client authentication failed.")
    assert "\n" not in message and "wrong-secret-value" not in message
    assert len(species.state.token_requests) == 1
    assert species.state.api_requests == []


def test_token_request_is_retried_on_5xx_and_429(species):
    species.state.inject("status", "/oauth/token", status=503)
    species.state.inject("status", "/oauth/token", status=429, retry_after="0")

    result, client = run_client(species, lambda c: c.list_all("species"))

    assert len(result) == 3
    assert len(species.state.token_requests) == 3
    assert client.metrics.snapshot()["retries_by_cause"] == {
        "server_error": 1,
        "rate_limited": 1,
    }


def test_concurrent_401s_refresh_only_once(species):
    """Many requests hold the same stale token; only the first 401 replaces it."""
    species.state.lists["/species"] = records("spc", 100)
    species.state.per_page_cap = 10
    for page in range(2, 7):
        species.state.inject("unauthorized", "/species", page=page)
    species.state.delay_s = 0.02

    result, _ = run_client(species, lambda c: c.list_all("species"), concurrency=5)

    assert len(result) == 100
    assert len(species.state.token_requests) == 2
    assert species.state.max_in_flight == 5


def test_provider_fetches_once_for_concurrent_callers():
    calls = 0
    now = [0.0]

    async def fetch():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return OAuthToken(token_type="Bearer", expires_in=10, access_token=f"t{calls}")

    async def go():
        provider = TokenProvider(fetch, clock=lambda: now[0])
        first = await asyncio.gather(*(provider.token() for _ in range(10)))
        now[0] = 29.9  # reused for at least 30 s, though it says 10
        same = await provider.token()
        now[0] = 30.0
        second = await asyncio.gather(*(provider.token() for _ in range(10)))
        provider.invalidate("t1")  # stale 401: the fresh token stays
        kept = await provider.token()
        return first, same, second, kept

    first, same, second, kept = asyncio.run(go())
    assert set(first) == {"t1"} and same == "t1"
    assert set(second) == {"t2"} and kept == "t2"
    assert calls == 2


def test_client_config_repr_hides_the_secret():
    config = ClientConfig("https://x.example.com", "id", "hunter2-secret")
    assert "hunter2-secret" not in repr(config)
    assert "hunter2-secret" not in str(config)


def test_bearer_token_never_in_the_url(species):
    run_client(species, lambda c: c.list_all("species"))
    (seen,) = species.state.api_requests
    token = seen.headers["authorization"].removeprefix("Bearer ")
    assert all(token not in str(v) for v in seen.params.values())


def test_elapsed_time_stays_small_with_cached_token(species):
    started = time.monotonic()

    async def repeat(client: InVivoClient):
        for _ in range(20):
            await client.list_all("species")

    _, client = run_client(species, repeat)
    assert client.metrics.token_requests == 1
    assert time.monotonic() - started < 5


def test_config_for_stub_uses_loopback_http(species):
    assert config_for(species).base_url.startswith("http://127.0.0.1:")
