"""The client-side budget: at most N requests start in any rolling window, token requests included,
and at most N reach the server in any such window, however late each one reaches it."""

from __future__ import annotations

import asyncio

import pytest

from invivo_pipeline.core.ratelimit import PauseGate, SlidingWindowLimiter
from invivo_pipeline_tests.support.client import records, run_client

ANIMALS = "/studies/sdy_1/animals"


def _max_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class RecordingLimiter(SlidingWindowLimiter):
    """Keeps the start time the limiter granted to each request, as the client saw it."""

    def __init__(self, max_requests: int, period_s: float) -> None:
        super().__init__(max_requests, period_s)
        self.granted: list[float] = []

    async def acquire(self) -> None:
        await super().acquire()
        self.granted.append(self._clock())


def test_requests_are_spread_over_the_window(stub):
    """R=4 per 0.4 s: 12 requests (1 token + 11 pages) need three windows."""
    stub.state.lists[ANIMALS] = records("aml", 110)
    stub.state.per_page_cap = 10
    limiter = RecordingLimiter(4, 0.4)

    async def pages(client):
        return [b async for b in client.iter_pages("animals", {"study_id": "sdy_1"})]

    batches, _ = run_client(stub, pages, client_kwargs={"rate_limiter": limiter}, concurrency=8)

    assert len(batches) == 11
    assert len(stub.state.seen) == len(limiter.granted) == 12, "the token request counts too"
    assert _max_in_any_window(limiter.granted, 0.4) == 4
    # Server-side arrival times carry scheduling jitter (client and server share a process),
    # so only the overall spread is checked there.
    arrivals = [s.at for s in stub.state.seen]
    assert max(arrivals) - min(arrivals) >= 0.8 - 0.1


def test_retries_count_against_the_budget(stub):
    stub.state.lists["/species"] = records("spc", 1)
    stub.state.inject("status", "/species", status=503, times=3)
    limiter = RecordingLimiter(2, 0.3)

    run_client(stub, lambda c: c.list_all("species"), client_kwargs={"rate_limiter": limiter})

    assert len(stub.state.seen) == len(limiter.granted) == 5
    assert _max_in_any_window(limiter.granted, 0.3) == 2


def test_sliding_window_exact_with_a_fake_clock():
    """Requests of 0.5 s each: a place is free again a period after the answer, not the start."""
    now = [0.0]
    starts: list[float] = []

    async def fake_sleep(delay: float) -> None:
        now[0] += delay

    async def go():
        limiter = SlidingWindowLimiter(3, 60.0, clock=lambda: now[0], sleep=fake_sleep)
        for _ in range(10):
            await limiter.acquire()
            starts.append(now[0])
            now[0] += 0.5
            limiter.release()
            now[0] += 0.5

    asyncio.run(go())
    assert starts[:3] == [0.0, 1.0, 2.0]
    assert starts[3] == 60.5 and starts[4] == 61.5
    assert _max_in_any_window(starts, 60.0) == 3


def test_requests_in_flight_hold_their_places_until_their_answers():
    async def go():
        limiter = SlidingWindowLimiter(2, 0.2)
        await limiter.acquire()
        await limiter.acquire()
        third = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0.4)  # two periods: still in flight, so still counted
        assert not third.done()
        loop = asyncio.get_running_loop()
        answered = loop.time()
        limiter.release()
        await third
        return loop.time() - answered

    assert asyncio.run(go()) >= 0.19  # a period after the first answer


def test_no_more_than_the_budget_reaches_the_server_when_early_requests_reach_it_late(stub):
    """The first requests of a window take 0.3 s to reach the server (a queue, a slow network),
    the next ones none: counted from their starts, the next window's requests would reach the
    server less than a period after the first ones did (5 in a 0.5 s window, where the server
    allows 4, and a server would answer 429)."""
    stub.state.lists[ANIMALS] = records("aml", 110)
    stub.state.per_page_cap = 10
    stub.state.arrival_delay = lambda n: 0.3 if n < 4 else 0.0
    limiter = SlidingWindowLimiter(4, 0.5)

    async def pages(client):
        return [b async for b in client.iter_pages("animals", {"study_id": "sdy_1"})]

    batches, _ = run_client(stub, pages, client_kwargs={"rate_limiter": limiter}, concurrency=8)

    assert len(batches) == 11 and len(stub.state.seen) == 12
    arrivals = [s.at for s in stub.state.seen]
    assert _max_in_any_window(arrivals, 0.5) == 4


@pytest.mark.parametrize(
    ("rpm", "max_requests", "period"), [(120, 120, 60.0), (90.7, 90, 60.0), (0.5, 1, 120.0)]
)
def test_per_minute_never_exceeds_the_budget(rpm, max_requests, period):
    limiter = SlidingWindowLimiter.per_minute(rpm)
    assert (limiter.max_requests, limiter.period_s) == (max_requests, period)


def test_pause_gate_holds_requests_until_the_deadline():
    async def go():
        gate = PauseGate()
        gate.pause_for(0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await gate.wait()
        return loop.time() - started

    assert asyncio.run(go()) >= 0.19


def test_configured_rpm_builds_a_limiter(stub):
    stub.state.lists["/species"] = records("spc", 1)

    result, client = run_client(stub, lambda c: c.list_all("species"), requests_per_minute=600)

    assert len(result) == 1
    limiter = client._requester._limiter
    assert isinstance(limiter, SlidingWindowLimiter)
    assert (limiter.max_requests, limiter.period_s) == (600, 60.0)
