"""``invivo webhooks serve`` as a user runs it: refuses to start without a secret, then receives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from invivo_pipeline.sources.invivo.webhooks.app import SECRET_HEADER
from invivo_pipeline.sources.invivo.webhooks.store import (
    HELD,
    QUARANTINED,
    EventStore,
    SetAsideEvent,
)
from invivo_pipeline_tests.support.automation_processes import free_port, http_ok, wait_for

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "invivo_pipeline_tests" / "fixtures" / "reference_examples.json"
SECRET = "cli-secret-4f1c"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVIVO_")}
    return env | extra


def test_without_a_secret_it_refuses_to_start_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "invivo_pipeline", "webhooks", "serve", "--port", "0"],
        cwd=ROOT,
        env=_env(INVIVO_WEBHOOK_DB=str(tmp_path / "e.sqlite")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "INVIVO_WEBHOOK_SECRET is not set" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_it_receives_and_stores_and_logs_no_secret(tmp_path):
    port = free_port()
    db = tmp_path / "e.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-m", "invivo_pipeline", "webhooks", "serve", "--port", str(port)],
        cwd=ROOT,
        env=_env(INVIVO_WEBHOOK_SECRET=SECRET, INVIVO_WEBHOOK_DB=str(db)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for("receiver up", lambda: http_ok(f"{url}/healthz"), 30)
        body = json.loads(FIXTURES.read_text())["webhooks"][6]["body"]
        ok = httpx.post(f"{url}/webhooks/invivo", json=body, headers={SECRET_HEADER: SECRET})
        denied = httpx.post(f"{url}/webhooks/invivo", json=body, headers={SECRET_HEADER: "no"})
        assert (ok.status_code, denied.status_code) == (200, 401)
        assert [e.event_id for e in EventStore(db, create=False).since(0)] == [body["id"]]
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert f"stored webhook {body['id']}" in output
    assert SECRET not in output


def test_quarantined_and_held_events_are_listed_one_escaped_line_each(tmp_path):
    db = tmp_path / "e.sqlite"
    store = EventStore(db)
    store.add("whe_1\x1b[2J", "study.updated", None, b"{}")
    store.add("whe_2", "animal.created", None, b"{}")
    store.record_set_aside(
        [
            SetAsideEvent(
                1, "whe_1\x1b[2J", "study.updated", QUARANTINED, "body is a JSON", None, "t"
            ),
            SetAsideEvent(2, "whe_2", "animal.created", HELD, "study sdy_x not yet", "sdy_x", "t"),
        ]
    )

    def run(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "invivo_pipeline", "webhooks", command],
            cwd=ROOT,
            env=_env(INVIVO_WEBHOOK_DB=str(db), COLUMNS="200"),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    quarantined, held = run("quarantined").stdout, run("held").stdout

    assert quarantined.splitlines() == [
        f"1 quarantined events in {db}",
        "seq 1 'whe_1\\x1b[2J' study.updated quarantined since t: body is a JSON",
    ]
    assert held.splitlines() == [
        f"1 held events in {db}",
        "seq 2 whe_2 animal.created held since t: study sdy_x not yet",
        f"0 dropped events in {db}",
    ]
