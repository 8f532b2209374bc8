"""Neither the client secret nor any access token appears in an error or a log line, on any path."""

from __future__ import annotations

import logging
import socket

import pytest

from invivo_pipeline.core.errors import ClientError
from invivo_pipeline_tests.support.client import records, run_client
from invivo_pipeline_tests.support.stub_api import CLIENT_SECRET, ECHO

SPECIES = "/species"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCENARIOS = {
    "wrong credentials": lambda state: {"client_secret": "another-secret-4242"},
    "token endpoint echoes the secret": lambda state: state.inject(
        "status", "/oauth/token", status=400, body=ECHO
    ),
    "token endpoint 5xx exhausted": lambda state: state.inject(
        "status", "/oauth/token", status=500, times=99, body=ECHO
    ),
    "token body malformed": lambda state: state.inject(
        "envelope", "/oauth/token", times=99, body=["not", "a", "token"]
    ),
    "401 twice": lambda state: state.inject("unauthorized", SPECIES, times=2),
    "4xx echoing the token": lambda state: state.inject("status", SPECIES, status=400, body=ECHO),
    "5xx echoing the token": lambda state: state.inject(
        "status", SPECIES, status=503, times=99, body=ECHO
    ),
    "429 echoing the token": lambda state: state.inject(
        "status", SPECIES, status=429, retry_after="9999", body=ECHO
    ),
    "truncated JSON": lambda state: state.inject("truncated", SPECIES, times=99),
    "wrong envelope": lambda state: state.inject("envelope", SPECIES, times=99),
    "timeout": lambda state: state.inject("slow", SPECIES, delay_s=0.3, times=99),
    "unreachable": lambda state: {"base_url": f"http://127.0.0.1:{_closed_port()}"},
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_no_secret_in_errors_or_logs(stub, caplog, scenario):
    stub.state.lists[SPECIES] = records("spc", 2)
    overrides = SCENARIOS[scenario](stub.state)
    overrides = overrides if isinstance(overrides, dict) else {}
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ClientError) as info:
        run_client(stub, lambda c: c.list_all("species"), max_retries=1, timeout_s=0.1, **overrides)

    secrets = [CLIENT_SECRET, "another-secret-4242", *stub.state.tokens]
    texts = [str(info.value), repr(info.value), caplog.text]
    texts += [str(r.args) for r in caplog.records]
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"{scenario}: a secret leaked"
    assert "\n" not in str(info.value)
    if scenario in ("token endpoint echoes the secret", "4xx echoing the token"):
        assert "***" in str(info.value), "the echoed credential was redacted, not dropped"
