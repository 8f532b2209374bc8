"""What is retried, how long the client waits, and how it fails when retrying does not help."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from invivo_pipeline.core.errors import (
    ApiError,
    ApiUnreachableError,
    MalformedResponseError,
    server_message,
)
from invivo_pipeline.core.retry import Cause, RetryPolicy, parse_retry_after
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline_tests.support.client import config_for, records, run_client

SPECIES = "/species"
URL_PATH = "/api/public/v1/species"


def _list(client):
    return client.list_all("species")


@pytest.fixture
def species(stub):
    stub.state.lists[SPECIES] = records("spc", 3)
    return stub


def test_429_waits_exactly_retry_after(species):
    species.state.inject("status", SPECIES, status=429, retry_after="1")

    started = time.monotonic()
    result, client = run_client(species, _list)
    elapsed = time.monotonic() - started

    assert len(result) == 3
    seen = species.state.requests_to(URL_PATH)
    assert len(seen) == 2
    assert seen[1].at - seen[0].at >= 1.0
    assert elapsed < 3
    assert client.metrics["species"].retries == {"rate_limited": 1}


def test_retry_after_as_http_date():
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp) == pytest.approx(7)
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_429_asking_for_too_long_a_wait_fails_at_once(species):
    species.state.inject("status", SPECIES, status=429, retry_after="3600")

    with pytest.raises(ApiError, match=r"GET .*/species\?page=1&perPage=500 .*HTTP 429") as info:
        run_client(species, _list, retry_after_max_s=60)

    assert info.value.status == 429
    assert len(species.state.requests_to(URL_PATH)) == 1


def test_429_without_retry_after_backs_off(species):
    species.state.inject("status", SPECIES, status=429, times=2)

    result, client = run_client(species, _list)

    assert len(result) == 3
    assert client.metrics["species"].retries == {"rate_limited": 2}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_succeed(species, status):
    species.state.inject("status", SPECIES, status=status, times=2)

    result, client = run_client(species, _list)

    assert len(result) == 3
    stats = client.metrics["species"]
    assert stats.requests == 3
    assert stats.retries == {"server_error": 2}
    assert client.metrics.snapshot()["retries_by_cause"] == {"server_error": 2}


@pytest.mark.parametrize("kind", ["truncated", "envelope"])
def test_malformed_bodies_are_retried_then_succeed(species, kind):
    species.state.inject(kind, SPECIES, times=2)

    result, client = run_client(species, _list)

    assert len(result) == 3
    assert client.metrics["species"].retries == {"malformed": 2}


def test_server_errors_exhausted_name_the_request(species):
    species.state.inject("status", SPECIES, status=503, times=100, body="Service Unavailable")

    with pytest.raises(ApiError) as info:
        run_client(species, _list, max_retries=3)

    message = str(info.value)
    assert message == (
        f"GET {species.url}{URL_PATH}?page=1&perPage=500 failed with HTTP 503 "
        "after 4 attempts: Service Unavailable"
    )
    assert "\n" not in message
    assert info.value.status == 503 and info.value.method == "GET"
    assert len(species.state.requests_to(URL_PATH)) == 4


def test_malformed_exhausted_is_malformed_response_error(species):
    species.state.inject("truncated", SPECIES, times=100)

    with pytest.raises(MalformedResponseError, match=r"GET http://.*/species\?.* not JSON"):
        run_client(species, _list, max_retries=2)

    assert len(species.state.requests_to(URL_PATH)) == 3


def test_other_4xx_fail_at_once_with_the_server_message(stub):
    with pytest.raises(ApiError) as info:
        run_client(stub, lambda c: c.retrieve("species", {}, "spc_missing"))

    assert info.value.status == 404
    assert str(info.value) == (
        f"GET {stub.url}/api/public/v1/species/spc_missing failed with HTTP 404: "
        "No query results for /species/spc_missing."
    )
    assert len(stub.state.api_requests) == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"message": "The given data was invalid.", "errors": {"perPage": ["too big"]}}',
            "The given data was invalid.; perPage: too big",
        ),
        (b'{"error": "invalid_client"}', "invalid_client"),
        (b"<html>\n<body>Bad   Gateway</body></html>", "<html> <body>Bad Gateway</body></html>"),
        (b"x" * 1000, "x" * 299 + "…"),
        (b"", ""),
    ],
)
def test_server_message_is_one_short_line(body, expected):
    assert server_message(body) == expected


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_host_fails_quickly_in_one_line():
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(ApiUnreachableError) as info:
        run_client(f"http://127.0.0.1:{port}", _list, backoff_base_s=0.5, backoff_max_s=30)
    elapsed = time.monotonic() - started

    message = str(info.value)
    assert message.startswith(f"cannot reach http://127.0.0.1:{port}: connection refused")
    assert "\n" not in message
    assert elapsed < 3


def test_transport_errors_are_retried():
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(
                200, json={"token_type": "Bearer", "expires_in": 60, "access_token": "t"}
            )
        if calls["n"] < 4:
            raise httpx.ReadError("connection reset by peer")
        return httpx.Response(
            200,
            json={
                "data": [],
                "meta": {"current_page": 1, "last_page": 1, "per_page": 5, "total": 0},
            },
        )

    async def go():
        config = config_for("https://invivo.example.com")
        async with InVivoClient(config, transport=httpx.MockTransport(handler)) as client:
            return await client.list_all("species"), client

    result, client = asyncio.run(go())
    assert result == []
    assert client.metrics["species"].retries == {"transport": 2}


def test_read_timeouts_are_retried_then_reported(species):
    species.state.inject("slow", SPECIES, delay_s=0.5, times=100)

    with pytest.raises(
        ApiError, match=r"GET .*/species\?.* timed out \(ReadTimeout\) after 2 attempts"
    ):
        run_client(species, _list, timeout_s=0.1, max_retries=1)


def test_backoff_is_full_jitter_capped():
    policy = RetryPolicy(max_retries=10, backoff_base_s=1.0, backoff_max_s=4.0)
    delays = [policy.backoff(n, Cause.SERVER_ERROR) for n in range(1, 10) for _ in range(50)]
    assert min(delays) >= 0 and max(delays) <= 4.0
    assert max(policy.backoff(1, Cause.SERVER_ERROR) for _ in range(200)) <= 1.0


def test_https_base_url_is_accepted():
    config = ClientConfig("https://tenant.example.com/api/public/v1/", "id", "secret")
    assert config.api_root == "https://tenant.example.com/api/public/v1"
