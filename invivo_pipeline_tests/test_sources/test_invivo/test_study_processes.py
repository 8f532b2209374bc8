"""Studies fetched in worker processes land exactly as in one process, at the same requests, and a
failure in a worker (an API error, a worker killed) is one line that leaves the warehouse as it was.

Real servers on loopback: the simulator, and a hostile proxy in front of it for the failures.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import duckdb
import httpx
import pytest

from invivo_pipeline.core import arrow_handoff
from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.core.errors import MalformedResponseError
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.sources.invivo.ingest import GLOBAL_NAMES, STUDY_NAMES, ingest
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)
from invivo_pipeline.sources.invivo.study_processes import (
    FROM_STUDIES,
    StudyProcesses,
    StudyWorkerError,
    StudyWorkers,
    calls_in_flight,
    studies_per_call,
)
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import Warehouse
from invivo_pipeline_tests.support.cli import (
    assert_matches_world,
    table_snapshot,
    warehouse_records,
)
from invivo_pipeline_tests.support.hostile_proxy import Alteration, HostileProxy

WORLD = WorldConfig(seed=47, studies=FROM_STUDIES + 2, animals_per_study=5, days=5)
QUICK = {"max_retries": 1, "backoff_base_s": 0.01, "backoff_max_s": 0.05}


@pytest.fixture(scope="module")
def server():
    with SimulatorServer(WORLD) as simulator:
        yield simulator


@pytest.fixture
def worker_calls(monkeypatch):
    """How many calls went to worker processes (the real ``fetch``, counted)."""
    calls: list[int] = []
    fetch = StudyWorkers.fetch

    async def counted(self, jobs):
        calls.append(len(jobs))
        return await fetch(self, jobs)

    monkeypatch.setattr(StudyWorkers, "fetch", counted)
    return calls


def _sync(base_url, study_ids, db, *, processes=None, **config):
    """One ingestion of every table; the client's metrics and the studies reported written."""
    reported: list[str] = []

    async def go():
        settings = ClientConfig(base_url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, **config)
        async with InVivoClient(settings) as client:
            with Warehouse(db, resources=RESOURCES).session() as session:
                await ingest(
                    client, session, global_names=GLOBAL_NAMES, study_ids=study_ids,
                    study_names=STUDY_NAMES, processes=processes, studies_in_flight=3,
                    flush_rows=200, on_partition=lambda s, _: s is None or reported.append(s),
                )  # fmt: skip
            return client.metrics

    return run_sync(go()), reported


def _study_ids(server) -> list[str]:
    return [r.body["id"] for r in server.world.records("studies")]


def test_workers_load_what_one_process_loads_at_the_same_requests(server, tmp_path, worker_calls):
    ids = _study_ids(server)
    alone, _ = _sync(server.base_url, ids, tmp_path / "one.duckdb", ingest_processes=0)
    assert worker_calls == []

    metrics, reported = _sync(server.base_url, ids, tmp_path / "workers.duckdb", ingest_processes=2)

    assert sum(worker_calls) == len(ids) and len(worker_calls) > 1
    assert_matches_world(tmp_path / "workers.duckdb", server)
    assert warehouse_records(tmp_path / "workers.duckdb") == warehouse_records(
        tmp_path / "one.duckdb"
    )
    assert sorted(reported) == sorted(ids)
    # The workers' requests are counted, at the minimum, under the run's one token.
    assert metrics.token_requests == 1
    assert metrics.requests - metrics.token_requests == metrics.minimum_requests()
    assert {n: m.requests for n, m in metrics.resources.items()} == {
        n: m.requests for n, m in alone.resources.items()
    }


def test_an_api_error_in_a_worker_is_its_own_line_and_the_warehouse_is_unchanged(
    server, tmp_path, worker_calls
):
    db = tmp_path / "w.duckdb"
    ids = _study_ids(server)
    _sync(server.base_url, ids, db)
    before = table_snapshot(db)
    with HostileProxy(server.base_url) as proxy:
        proxy.alteration = Alteration(f"/studies/{ids[-1]}/measurements", "truncated")
        with pytest.raises(MalformedResponseError) as failed:
            _sync(proxy.base_url, ids, db, ingest_processes=2, **QUICK)
        assert proxy.altered > 0
    assert "not JSON" in str(failed.value) and "\n" not in str(failed.value)
    assert failed.value.__cause__ is None  # not the worker's traceback, as text
    assert worker_calls
    assert table_snapshot(db) == before


class _Dying(httpx.AsyncBaseTransport):
    """Ends its process at ``study_id``'s first request, as the kernel's OOM killer would."""

    def __init__(self, study_id: str) -> None:
        self.study_id = study_id
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.study_id in request.url.path:
            os._exit(3)
        return await self.inner.handle_async_request(request)


@dataclass(frozen=True)
class _DiesOn:
    """A transport factory that pickles, for workers started from the forkserver."""

    study_id: str

    def __call__(self) -> httpx.AsyncBaseTransport:
        return _Dying(self.study_id)


def test_a_worker_that_dies_fails_the_run_in_one_line_and_the_warehouse_is_unchanged(
    server, tmp_path
):
    db = tmp_path / "w.duckdb"
    ids = _study_ids(server)
    _sync(server.base_url, ids, db)
    before = table_snapshot(db)
    dying = StudyProcesses(2, transport=_DiesOn(ids[0]))
    with pytest.raises(StudyWorkerError, match="ended unexpectedly") as failed:
        _sync(server.base_url, ids, db, processes=dying)
    assert "\n" not in str(failed.value)
    assert table_snapshot(db) == before


def _client(transport=None, **config) -> InVivoClient:
    settings = ClientConfig("http://127.0.0.1:9", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, **config)
    return InVivoClient(settings, transport=transport)


@pytest.mark.parametrize(
    ("config", "transport", "studies", "expected"),
    [
        ({}, None, FROM_STUDIES, 2),
        ({"ingest_processes": 0}, None, 50, None),
        ({"ingest_processes": 3}, None, 50, 3),
        ({"ingest_processes": 2}, None, FROM_STUDIES - 1, None),  # a webhook's few studies
        ({"ingest_processes": 2}, httpx.MockTransport(lambda r: httpx.Response(200)), 50, None),
        ({"ingest_processes": 2, "requests_per_minute": 100}, None, 50, None),  # own budget
        (
            {"ingest_processes": 2, "requests_per_minute": 100, "shared_budget_path": "b"},
            None,
            50,
            2,
        ),
    ],
)
def test_workers_stand_in_only_where_they_share_what_the_client_has(
    config, transport, studies, expected, tmp_path
):
    if "shared_budget_path" in config:
        config = {**config, "shared_budget_path": str(tmp_path / "budget.sqlite")}
    plan = StudyProcesses.for_run(_client(transport, **config), studies)
    assert (plan.count if plan else None) == expected


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("studies_in_flight", [1, 4, 7, 16])
def test_the_studies_in_hand_are_the_runs_studies_in_flight(studies_in_flight, workers):
    """Each worker busy with a call and one more waiting: never more studies than the run's
    ``studies_in_flight`` in the workers' memory (or one a call, where that is fewer)."""
    per_call = studies_per_call(studies_in_flight, workers)
    in_hand = per_call * calls_in_flight(workers)
    assert per_call >= 1
    assert in_hand <= max(studies_in_flight, calls_in_flight(workers))
    assert in_hand > studies_in_flight - calls_in_flight(workers)


def test_a_bad_record_in_a_worker_is_set_aside_and_the_rest_of_its_study_loads(
    server, tmp_path, worker_calls
):
    db = tmp_path / "w.duckdb"
    ids = _study_ids(server)
    with HostileProxy(server.base_url) as proxy:
        proxy.alteration = Alteration(
            f"/studies/{ids[0]}/animals", "record", body={"dob": "not-a-date"}
        )
        _sync(proxy.base_url, ids, db, ingest_processes=2)
        assert proxy.altered > 0
    assert worker_calls
    with duckdb.connect(str(db), read_only=True) as con:
        rejected = con.execute(
            "SELECT table_name, partition_key, reason FROM invivo_raw._rejected"
        ).fetchall()
        animals = con.execute(
            "SELECT count(*) FROM invivo_raw.animals WHERE study_id = ?", [ids[0]]
        ).fetchall()[0][0]
    ((table, study, reason),) = rejected
    assert (table, study) == ("animals", ids[0]) and "dob" in reason
    served = [r for r in server.world.records("animals") if r.keys.get("study_id") == ids[0]]
    assert animals == len(served) - 1


@pytest.fixture
def taken(monkeypatch):
    """The files whose rows this process took from shared memory (the real ``take``, counted)."""
    paths: list[str] = []
    take = arrow_handoff.take

    def counted(path):
        paths.append(path)
        return take(path)

    monkeypatch.setattr(arrow_handoff, "take", counted)
    return paths


def _own_handoff_folders() -> list[str]:
    prefix = f"invivo-rows-{os.getpid()}-"
    root = arrow_handoff.SHARED_MEMORY
    return [p.name for p in root.glob(f"{prefix}*")] if root.is_dir() else []


@pytest.mark.skipif(not arrow_handoff.SHARED_MEMORY.is_dir(), reason="no /dev/shm here")
def test_the_workers_rows_come_through_shared_memory_and_leave_nothing_there(
    server, tmp_path, taken
):
    ids = _study_ids(server)
    _sync(server.base_url, ids, tmp_path / "one.duckdb", ingest_processes=0)
    _sync(server.base_url, ids, tmp_path / "workers.duckdb", ingest_processes=2)

    assert len(taken) >= len(ids)  # every study has rows in several tables
    assert warehouse_records(tmp_path / "workers.duckdb") == warehouse_records(
        tmp_path / "one.duckdb"
    )
    assert _own_handoff_folders() == []


def test_where_shared_memory_cannot_take_the_rows_they_come_through_the_pipe(
    server, tmp_path, taken, monkeypatch
):
    """A folder that vanishes under the run (as a full or missing ``/dev/shm`` would fail): the
    workers send their rows in their answers, and the same rows load."""
    start = StudyWorkers.__init__

    def without_folder(self, plan, client):
        start(self, plan, client)
        if self._handoff.directory is not None:
            shutil.rmtree(self._handoff.directory)

    monkeypatch.setattr(StudyWorkers, "__init__", without_folder)
    ids = _study_ids(server)
    _sync(server.base_url, ids, tmp_path / "one.duckdb", ingest_processes=0)
    _sync(server.base_url, ids, tmp_path / "workers.duckdb", ingest_processes=2)

    assert taken == []
    assert warehouse_records(tmp_path / "workers.duckdb") == warehouse_records(
        tmp_path / "one.duckdb"
    )
