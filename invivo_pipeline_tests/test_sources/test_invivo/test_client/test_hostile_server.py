"""A broken or hostile server gets bounded, clear failures: in time, in memory, in one line.

Each case is one thing a server can do wrong (drip-feed an answer, send a page too large or too
deeply nested, bytes that are not UTF-8, paging metadata that never ends, echo a secret in another
encoding), served over real HTTP by the stub; the client must fail within a stated bound with
one line that names the request and carries no secret.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from invivo_pipeline.core.errors import (
    AuthenticationError,
    DeadlineExceededError,
    MalformedResponseError,
)
from invivo_pipeline_tests.support.client import records, run_client
from invivo_pipeline_tests.support.stub_api import CLIENT_SECRET, TOKEN_PATH

ROOT = Path(__file__).resolve().parents[4]


def _fails_within(seconds: float, stub, call, error, **config):
    started = time.monotonic()
    with pytest.raises(error) as caught:
        run_client(stub, call, **config)
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert elapsed < seconds, f"took {elapsed:.1f} s: {message}"
    assert "\n" not in message and CLIENT_SECRET not in message
    assert "TaskGroup" not in message and "sub-exception" not in message
    return message, elapsed


@pytest.fixture
def users(stub):
    stub.state.lists["/users"] = records("usr", 3)
    return stub


def test_a_drip_fed_answer_fails_at_the_request_deadline(users):
    # Headers, then a byte every 0.5 s: never silent long enough for the 30 s read timeout.
    users.state.inject("drip", "/users", delay_s=0.5)

    message, elapsed = _fails_within(
        6, users, lambda c: c.list_all("users"), DeadlineExceededError, request_deadline_s=2
    )

    assert elapsed >= 2
    assert message.startswith(f"GET {users.url}/api/public/v1/users?page=1&perPage=500")
    assert "2 s deadline (request_deadline_s)" in message
    assert len(users.state.requests_to("/api/public/v1/users")) == 1, "not retried"


def test_the_run_deadline_cuts_a_slow_walk_off_with_the_request_it_was_on(users):
    users.state.lists["/users"] = records("usr", 200)
    users.state.per_page_cap = 10
    users.state.delay_s = 0.4  # 20 pages, one at a time: 8 s without a deadline

    message, _ = _fails_within(
        4, users, lambda c: c.list_all("users"), DeadlineExceededError,
        run_deadline_s=1.5, concurrency=1,
    )  # fmt: skip

    assert message.startswith(f"GET {users.url}/api/public/v1/users?page=")
    assert "took longer than 1.5 s (run_deadline_s)" in message


def test_paging_metadata_that_never_ends_is_one_clear_error(users):
    # A server that ignores ``page`` and claims a billion pages for three records.
    users.state.inject("meta", "/users", body={"last_page": 10**9}, times=10**9)

    message, _ = _fails_within(20, users, lambda c: c.list_all("users"), MalformedResponseError)

    assert "inconsistent paging metadata" in message and "last_page=1000000000" in message
    assert "3 records at 500 a page make 1 pages" not in message  # granted 100, not asked 500
    assert "3 records at 100 a page make 1 pages" in message
    assert len(users.state.api_requests) == 1


def test_a_page_with_more_records_than_per_page_is_inconsistent(users):
    users.state.inject("meta", "/users", body={"per_page": 2, "last_page": 2})

    message, _ = _fails_within(10, users, lambda c: c.list_all("users"), MalformedResponseError)

    assert "the page holds 3 records" in message


def test_a_page_nested_100k_levels_deep_is_refused_before_parsing(users):
    deep = b"[" * 100_000 + b"]" * 100_000
    users.state.inject("raw", "/users", body=b'{"data": [{"id": "usr_1", "x": ' + deep + b"}]}")

    message, _ = _fails_within(10, users, lambda c: c.list_all("users"), MalformedResponseError)

    assert "nested deeper than 64 levels (max_json_depth)" in message
    assert message.startswith("GET ") and "/api/public/v1/users?page=1" in message
    assert len(users.state.api_requests) == 1, "the same bytes again would not help"


def test_a_byte_that_is_not_utf8_is_one_clear_error(users):
    meta = {"current_page": 1, "last_page": 1, "per_page": 100, "total": 1}
    body = json.dumps({"data": records("usr", 1), "meta": meta}).encode()
    body = body.replace(b"usr 0", b"usr \xff")
    users.state.inject("raw", "/users", body=body)

    message, _ = _fails_within(10, users, lambda c: c.list_all("users"), MalformedResponseError)

    assert "is not UTF-8 (0xff)" in message and "/api/public/v1/users" in message


def test_a_page_declaring_more_than_the_cap_is_not_read(users):
    users.state.inject("stream", "/users", body=200 * 1024 * 1024, declare=True)

    message, _ = _fails_within(
        10, users, lambda c: c.list_all("users"), MalformedResponseError, max_page_bytes=1_000_000
    )

    assert "larger than the 1,000,000-byte cap (max_page_bytes)" in message
    assert "declares 209,715,200 bytes" in message


# The peak of this process's own memory (VmHWM): ``ru_maxrss`` survives exec, so a child of a large
# pytest process would report its parent's size.
_MEASURE_RSS = """
import re, sys
from pathlib import Path
from invivo_pipeline_tests.support.client import run_client
try:
    run_client(sys.argv[1], lambda c: c.list_all("users"), max_page_bytes=int(sys.argv[2]))
    print("no error")
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}")
status = Path("/proc/self/status").read_text()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
"""


def test_a_very_large_page_fails_at_the_cap_without_filling_the_memory(users):
    """A 400 MB page with no Content-Length: the client stops at the cap, in another process so
    that its peak RSS is its own."""
    users.state.inject("stream", "/users", body=400 * 1024 * 1024)
    cap = 16 * 1024 * 1024

    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE_RSS, users.url, str(cap)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started

    assert done.returncode == 0, done.stderr
    line, peak_mb = done.stdout.strip().splitlines()
    assert line.startswith("MalformedResponseError: GET "), line
    assert "larger than the 16,777,216-byte cap" in line and "more than" in line
    assert int(peak_mb) < 200, f"peak RSS {peak_mb} MB for a 16 MB cap"
    assert elapsed < 60


def test_a_secret_echoed_in_any_encoding_or_in_part_is_redacted(stub):
    secret = 'sec"ret\\with/odd chars+1'

    def echo(body: bytes) -> str:
        payload = json.loads(body)
        return (
            f"rejected {body.decode()} | form {urlencode(payload)} "
            f"| cut {payload['client_secret'][:9]}"
        )

    stub.state.inject("text", TOKEN_PATH.removeprefix("/api/public/v1"), status=400, body=echo)

    with pytest.raises(AuthenticationError) as caught:
        run_client(stub, lambda c: c.list_all("users"), client_secret=secret)

    message = str(caught.value)
    assert "invalid client credentials" in message and "***" in message
    escaped = json.dumps(secret)[1:-1]
    for leaked in (secret, escaped, "sec%22ret", 'sec\\"ret', secret[:9], "ret\\\\with"):
        assert leaked not in message, f"{leaked!r} in {message!r}"
    assert message.count("***") >= 3
