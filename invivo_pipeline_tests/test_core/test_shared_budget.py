"""One request budget for every process of a deployment (``client/shared_budget.py``): limiters on
one SQLite file share one rolling window, a request holds its place until a period after its
answer whichever process sent it, and two real processes syncing against the simulator's enforced
limit meet no 429 together, where each with a budget of its own meets them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from invivo_pipeline.core.ratelimit import SlidingWindowLimiter
from invivo_pipeline.core.shared_budget import SharedWindowLimiter
from invivo_pipeline.sources.invivo.api_resource import InVivoApiResource
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import SHARED_BUDGET_FILE, ClientConfig
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import SimulatorSettings

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "INVIVO_BASE_URL": "https://tenant.example.com",
    "INVIVO_CLIENT_ID": "client",
    "INVIVO_CLIENT_SECRET": "secret",
    "INVIVO_REQUESTS_PER_MINUTE": "120",
}


def test_limiters_on_one_file_share_one_window(tmp_path):
    """Two limiters (as two processes would hold) on one file, 3 places per 0.5 s: together they
    get 3 at once, and the fourth only a period after the first answer."""
    path = tmp_path / "budget.sqlite"

    async def go() -> float:
        first, second = SharedWindowLimiter(path, 3, 0.5), SharedWindowLimiter(path, 3, 0.5)
        await first.acquire()
        await second.acquire()
        await first.acquire()
        fourth = asyncio.create_task(second.acquire())
        await asyncio.sleep(0.3)
        assert not fourth.done(), "three places are held: the fourth request waits"
        answered = time.time()
        first.release()
        await fourth
        return time.time() - answered

    assert asyncio.run(go()) >= 0.45


def test_a_request_in_flight_in_another_process_holds_its_place_until_its_answer(tmp_path):
    path = tmp_path / "budget.sqlite"

    async def go() -> None:
        sender, waiter = SharedWindowLimiter(path, 1, 0.2), SharedWindowLimiter(path, 1, 0.2)
        await sender.acquire()
        waiting = asyncio.create_task(waiter.acquire())
        await asyncio.sleep(0.6)  # three periods: still in flight, so still counted
        assert not waiting.done()
        sender.release()
        await asyncio.wait_for(waiting, 2)

    asyncio.run(go())


def test_a_place_left_by_a_process_that_died_frees_after_the_stale_limit(tmp_path):
    path = tmp_path / "budget.sqlite"

    async def go() -> float:
        dead = SharedWindowLimiter(path, 1, 0.2)
        await dead.acquire()  # never released: its process died mid-request
        dead.close()
        started = time.time()
        await SharedWindowLimiter(path, 1, 0.2, stale_after_s=0.5).acquire()
        return time.time() - started

    assert 0.6 <= asyncio.run(go()) < 3


def test_a_cancelled_wait_gives_back_nothing_it_did_not_use(tmp_path):
    """A request cancelled while waiting for a place leaves the window as it found it."""
    path = tmp_path / "budget.sqlite"

    async def go() -> None:
        limiter = SharedWindowLimiter(path, 2, 30.0)
        waiting = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0.2)
        other = SharedWindowLimiter(path, 2, 30.0)
        await asyncio.wait_for(other.acquire(), 1)
        # Whatever the cancelled wait took was answered at once: it holds at most one place.

    asyncio.run(go())


def test_the_window_is_beside_the_dagster_instance_unless_a_file_is_named(tmp_path):
    home = str(tmp_path / "home")
    beside = ClientConfig.from_env({**ENV, "DAGSTER_HOME": home})
    assert beside.shared_budget_path == str(Path(home) / SHARED_BUDGET_FILE)
    named = ClientConfig.from_env(
        {**ENV, "DAGSTER_HOME": home, "INVIVO_SHARED_BUDGET_PATH": str(tmp_path / "b.sqlite")}
    )
    assert named.shared_budget_path == str(tmp_path / "b.sqlite")
    assert ClientConfig.from_env(ENV).shared_budget_path is None


def test_clients_and_resources_build_the_shared_window(tmp_path, monkeypatch):
    for name, value in {**ENV, "DAGSTER_HOME": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    resource = InVivoApiResource(
        base_url=ENV["INVIVO_BASE_URL"], client_id="client", client_secret="secret"
    )
    for config in (ClientConfig.from_env(), resource.client_config()):
        limiter = InVivoClient(config)._requester._limiter
        assert isinstance(limiter, SharedWindowLimiter)
        assert (limiter.path, limiter.max_requests) == (tmp_path / SHARED_BUDGET_FILE, 120)
    separate = InVivoClient(ClientConfig.from_env(ENV))._requester._limiter
    assert isinstance(separate, SlidingWindowLimiter)


def _worker(args: list[str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "invivo_pipeline_tests.test_core.budget_worker", *args]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


LIMIT, WINDOW = 8, 1.0
"""The simulator's enforced limit, which each process is also configured to."""


@pytest.mark.timeout(180)
@pytest.mark.parametrize("shared", [True, False], ids=["one shared budget", "a budget each"])
def test_two_processes_syncing_at_once_meet_no_429_when_they_share_one_budget(tmp_path, shared):
    settings = SimulatorSettings(rate_limit_per_minute=LIMIT, rate_limit_window_s=WINDOW)
    world = WorldConfig(seed=41, studies=3, animals_per_study=6, days=4)
    with SimulatorServer(world, settings) as server:
        start_at = time.time() + 4  # both processes are up by then
        budget = [str(tmp_path / "budget.sqlite")] if shared else []
        args = [server.base_url, str(start_at), str(LIMIT), str(WINDOW), *budget]
        workers = [_worker(args) for _ in range(2)]
        outputs = [w.communicate(timeout=150) for w in workers]
        stats = server.stats()
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert all(r["requests"] >= 20 for r in results), results  # they did overlap for a while
    if shared:
        assert stats["faults"]["rate_limited"] == 0
        assert sum(r["rate_limited"] for r in results) == 0
    else:
        assert stats["faults"]["rate_limited"] > 0


OPEN_AT_ONCE = """
import sys, time
from invivo_pipeline.core.shared_budget import SharedWindowLimiter
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
SharedWindowLimiter(sys.argv[1], 10, 60.0).close()
"""


def test_processes_opening_a_new_budget_file_in_the_same_instant_all_open_it(tmp_path):
    # The sensor, the daemon and run workers start together; switching a new file to WAL answers
    # "database is locked" at once to every process but one, which used to crash them.
    path, start_at = tmp_path / "budget.sqlite", time.time() + 3
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, str(path), str(start_at)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(12)
    ]
    errors = [opener.communicate(timeout=60)[1] for opener in openers]
    assert [opener.returncode for opener in openers] == [0] * 12, next(e for e in errors if e)
