"""Slow and idle connections cannot hold the receiver: headers and bodies have deadlines, and a
legitimate sender gets in even while hundreds of connections stall, under a small file limit."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from invivo_pipeline.sources.invivo.webhooks.app import SECRET_HEADER, WEBHOOK_PATH
from invivo_pipeline.sources.invivo.webhooks.server import ReceiverServer
from invivo_pipeline.sources.invivo.webhooks.store import EventStore
from invivo_pipeline_tests.support.automation_processes import free_port, http_ok, wait_for

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "invivo_pipeline_tests" / "fixtures" / "reference_examples.json"
EVENT = json.loads(FIXTURES.read_text())["webhooks"][6]["body"]
SECRET = "slow-secret-77"
STALLED = 300
TRICKLING = 20
FILE_LIMIT = 256
TIMEOUT_S = 3


def _connect(port: int, first_bytes: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(first_bytes)
    return sock


def _partial_headers() -> bytes:
    return f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nUser-Agent: slow".encode()


def _body_headers(length: int) -> bytes:
    return (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {SECRET}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{"
    ).encode()


def _closed_by_server(sock: socket.socket, deadline: float) -> tuple[bool, bytes]:
    """Whether the server closed ``sock`` before ``deadline`` (monotonic), and what it said."""
    said = b""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return False, said
        except OSError:  # reset: closed too
            return True, said
        if not chunk:
            return True, said
        said += chunk
    return False, said


def _trickle(socks: list[socket.socket], stop: threading.Event) -> None:
    """One byte of body per connection every half second, until the server hangs up."""
    while not stop.wait(0.5):
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.send(b" ")


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


def test_stalled_connections_do_not_lock_out_a_sender_and_are_closed(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVIVO_")} | {
        "INVIVO_WEBHOOK_SECRET": SECRET,
        "INVIVO_WEBHOOK_DB": str(tmp_path / "e.sqlite"),
        "INVIVO_WEBHOOK_HEADER_TIMEOUT_S": str(TIMEOUT_S),
        "INVIVO_WEBHOOK_BODY_TIMEOUT_S": str(TIMEOUT_S),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "invivo_pipeline", "webhooks", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_limit_files,
    )
    stop = threading.Event()
    socks: list[socket.socket] = []
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for("receiver up", lambda: http_ok(f"{url}/healthz"), 30)
        trickling = [_connect(port, _body_headers(10_000)) for _ in range(TRICKLING)]
        stalled = [_connect(port, _partial_headers()) for _ in range(STALLED)]
        socks = trickling + stalled
        threading.Thread(target=_trickle, args=(trickling, stop), daemon=True).start()
        opened = time.monotonic()

        started = time.monotonic()
        response = httpx.post(
            f"{url}{WEBHOOK_PATH}", json=EVENT, headers={SECRET_HEADER: SECRET}, timeout=10
        )
        took = time.monotonic() - started

        assert response.status_code == 200, response.text
        assert took < 2, f"the legitimate post took {took:.1f} s"
        deadline = opened + TIMEOUT_S + 3
        outcomes = [_closed_by_server(s, deadline) for s in socks]
        assert all(closed for closed, _ in outcomes), (
            f"{sum(not c for c, _ in outcomes)} of {len(socks)} slow connections still open"
        )
        answers = [said for _, said in outcomes[:TRICKLING]]
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers[:2]
        assert json.loads(answers[0].split(b"\r\n\r\n", 1)[1])["message"].startswith(
            "The body must arrive within"
        )
    finally:
        stop.set()
        for sock in socks:
            sock.close()
        process.terminate()
        process.wait(timeout=20)
    assert [e.event_id for e in EventStore(tmp_path / "e.sqlite", create=False).since(0)] == [
        EVENT["id"]
    ]


@pytest.fixture
def receiver(tmp_path):
    store = EventStore(tmp_path / "e.sqlite")
    with ReceiverServer(store, SECRET, header_timeout_s=1, body_timeout_s=1) as server:
        yield server


def test_an_idle_connection_is_closed_after_the_header_timeout_not_before(receiver):
    sock = _connect(receiver.port, b"")
    opened = time.monotonic()

    early, _ = _closed_by_server(sock, opened + 0.6)
    closed, said = _closed_by_server(sock, opened + 3)

    assert (early, closed, said) == (False, True, b"")
    sock.close()


def test_a_kept_alive_connection_must_send_its_next_headers_in_time(receiver):
    with httpx.Client(timeout=5) as client:
        first = client.post(receiver.url, json=EVENT, headers={SECRET_HEADER: SECRET})
        assert first.status_code == 200
    # By hand: one request answered, then the next request's headers trickle in and stall.
    sock = _connect(receiver.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")
    sent = time.monotonic()

    closed, said = _closed_by_server(sock, sent + 3)

    assert closed and said == b""
    sock.close()
