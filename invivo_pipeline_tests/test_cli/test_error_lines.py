"""Every failure is one clear line: each error the clients raise, through ``invivo sync`` and the
Dagster run it records.

A hostile proxy in front of the simulator breaks one thing at a time (on a per-study list, so
that discovery passes and the failure happens inside the Dagster run's ingestion step, among
concurrent tasks); the command must print one line naming the cause, never an exception group or
a traceback, and the run stored in the Dagster instance must carry the same cause.
"""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.instance.ref import InstanceRef

from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.warehouse import writer_lock
from invivo_pipeline_tests.support.hostile_proxy import Alteration, HostileProxy

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

FORBIDDEN = ("TaskGroup", "ExceptionGroup", "sub-exception", "Traceback", "RecursionError")
QUICK = {"INVIVO_MAX_RETRIES": "1", "INVIVO_BACKOFF_BASE_S": "0.01", "INVIVO_BACKOFF_MAX_S": "0.05"}
PASSWORD = "pa55w0rd-never-shown"


@pytest.fixture(scope="module")
def proxy():
    world = WorldConfig(seed=61, studies=3, animals_per_study=3, days=3)
    with SimulatorServer(world) as server, HostileProxy(server.base_url) as hostile:
        yield hostile


# (id, alteration, extra env, what the line says, the error class, fails inside the Dagster run)
CASES = [
    ("http-422", Alteration("/animals", "status", 422, "The given data was invalid."), {},
     "failed with HTTP 422: The given data was invalid.", "ApiError", True),
    ("http-503-after-retries", Alteration("/dosages", "status", 503), {},
     "failed with HTTP 503 after 2 attempts", "ApiError", True),
    ("still-unauthorized", Alteration("/groups", "status", 401, "Unauthenticated."), {},
     "still unauthorized (HTTP 401) after refreshing", "AuthenticationError", True),
    ("not-json", Alteration("/measurements", "truncated"), {},
     "returned a malformed body after 2 attempts: not JSON", "MalformedResponseError", True),
    ("endless-pages", Alteration("/animals", "endless_pages"), {},
     "inconsistent paging metadata", "MalformedResponseError", True),
    ("nested-100k-deep", Alteration("/samples", "nested"), {},
     "nested deeper than 64 levels", "MalformedResponseError", True),
    ("not-utf8", Alteration("/animals", "not_utf8"), {},
     "is not UTF-8 (0xff)", "MalformedResponseError", True),
    ("page-too-large", Alteration("/observations", "large", body=50_000_000),
     {"INVIVO_MAX_PAGE_BYTES": "1000000"},
     "larger than the 1,000,000-byte cap", "MalformedResponseError", True),
    ("drip-fed", Alteration("/treatments", "drip", every_s=0.5),
     {"INVIVO_REQUEST_DEADLINE_S": "3"},
     "did not finish within its 3 s deadline", "DeadlineExceededError", True),
    ("bad-record-strict", Alteration("/animals", "record", body={"dob": "not-a-date"}),
     {"INVIVO_STRICT": "1"}, "strict mode: would quarantine", "QuarantineError", True),
    ("unreachable", None, {"INVIVO_BASE_URL": "http://127.0.0.1:9"},
     "cannot reach http://127.0.0.1:9", "ApiUnreachableError", False),
    ("wrong-credentials", None, {"INVIVO_CLIENT_SECRET": PASSWORD},
     "invalid client credentials", "AuthenticationError", False),
    ("url-with-password", None, {"INVIVO_BASE_URL": f"https://me:{PASSWORD}@x.example.com?a=1"},
     "must not carry credentials", "ConfigError", False),
]  # fmt: skip


def _instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def _messages(error) -> list[str]:
    """The messages of an error, its causes and its contexts (not the stacks, which quote code)."""
    found = []
    while error is not None:
        found.append(error.message)
        found += _messages(error.context) if error.context is not None else []
        error = error.cause
    return found


def _run_failure(home: Path) -> tuple[str, str, list[str]]:
    """The failed run's user error (class, message) and every message Dagster stored for it."""
    with _instance(home) as inst:
        (run,) = inst.get_runs(limit=1)
        assert run.status == dg.DagsterRunStatus.FAILURE
        records = inst.all_logs(run.run_id)
    texts: list[str] = []
    user: tuple[str, str] | None = None
    for entry in records:
        event = entry.dagster_event
        if event is None:
            continue
        texts.append(event.message or "")
        if event.is_step_failure:
            error = event.step_failure_data.error
            texts += _messages(error)
            while error.cause is not None and "dagster" in error.cls_name.lower():
                error = error.cause
            user = user or (error.cls_name, error.message)
    assert user is not None, "no step failed"
    return user[0], user[1], texts


@pytest.mark.parametrize(
    ("alteration", "env", "expected", "error_class", "in_run"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_failure_is_one_line_naming_its_cause(
    cli, proxy, tmp_path, alteration, env, expected, error_class, in_run
):
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    proxy.alteration = alteration
    started = time.monotonic()
    result = cli.run(
        "sync",
        "--quiet",
        timeout=180,
        **{"INVIVO_BASE_URL": proxy.base_url, "DAGSTER_HOME": str(home), **QUICK, **env},
    )
    elapsed = time.monotonic() - started

    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: ") and expected in line, line
    assert not any(word in line for word in FORBIDDEN), line
    assert PASSWORD not in result.stderr + result.stdout
    assert elapsed < 120

    if in_run:
        assert proxy.altered > 0
        cls_name, message, texts = _run_failure(home)
        assert cls_name == error_class and expected in message, (cls_name, message)
        for text in texts:
            assert not any(word in text for word in FORBIDDEN[:3]), text


def test_a_drip_fed_sync_fails_within_its_deadline_and_releases_every_lock(cli, proxy, tmp_path):
    proxy.alteration = Alteration("/animals", "drip", every_s=0.5)
    env = {"INVIVO_BASE_URL": proxy.base_url, "INVIVO_REQUEST_DEADLINE_S": "2", **QUICK}
    started = time.monotonic()
    result = cli.run("sync", "--quiet", timeout=120, **env)
    elapsed = time.monotonic() - started

    assert result.returncode == 1
    assert "/animals" in result.stderr and "2 s deadline" in result.stderr
    assert elapsed < 60, f"{elapsed:.0f} s"
    # Both locks are free at once: the pipeline's writer lock, and DuckDB's own on the file.
    with writer_lock(cli.db, timeout=1):
        duckdb.connect(str(cli.db)).close()
    proxy.alteration = None
    assert cli.run("sync", "--quiet", **env).returncode == 0


def test_doctor_is_bounded_against_a_drip_fed_server(cli, proxy):
    proxy.alteration = Alteration("/studies", "drip", every_s=0.5)
    started = time.monotonic()
    result = cli.run(
        "doctor", INVIVO_BASE_URL=proxy.base_url, INVIVO_REQUEST_DEADLINE_S="2", timeout=60
    )
    elapsed = time.monotonic() - started

    assert result.returncode == 1
    assert "✗ API: GET " in result.stdout and "2 s deadline" in result.stdout, result.stdout
    assert elapsed < 30


def test_a_cytobank_failure_is_one_line_naming_its_cause(cli, tmp_path):
    """The Cytobank client's own error (a sample-tag file that is not the documented TSV)."""
    from invivo_pipeline.sources.cytobank.simulator.server import CytobankSimulatorServer
    from invivo_pipeline.sources.cytobank.simulator.settings import DEMO_PASSWORD, DEMO_USERNAME
    from invivo_pipeline.sources.cytobank.table import API_PREFIX

    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    world = WorldConfig(seed=62, studies=1, animals_per_study=2, days=2)
    with (
        SimulatorServer(world) as server,
        CytobankSimulatorServer(world=server.world) as cytobank,
        HostileProxy(cytobank.base_url) as hostile,
    ):
        hostile.alteration = Alteration("download_sample_tags", "raw", body=b"Wrong\tHeader\n")
        result = cli.run(
            "sync",
            "--quiet",
            timeout=180,
            INVIVO_BASE_URL=server.base_url,
            DAGSTER_HOME=str(home),
            CYTOBANK_BASE_URL=hostile.base_url + API_PREFIX,
            CYTOBANK_USERNAME=DEMO_USERNAME,
            CYTOBANK_PASSWORD=DEMO_PASSWORD,
        )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    expected = "the sample-tag file's first column is 'Wrong'"
    assert lines[0].startswith("error: Cytobank: GET ") and expected in lines[0], lines[0]
    assert "download_sample_tags" in lines[0] and DEMO_PASSWORD not in result.stderr
    cls_name, message, texts = _run_failure(home)
    assert cls_name == "MalformedResponseError" and expected in message
    for text in texts:
        assert not any(word in text for word in FORBIDDEN[:3]), text
