"""A worker process's counts, taken after each call and merged into the run's, add up to what one
client counting everything would have: every field, retries by cause included."""

from __future__ import annotations

from dataclasses import fields

from invivo_pipeline.core.metrics import TOKEN, ClientMetrics, ResourceMetrics


def _count(metrics: ClientMetrics, name: str, n: int) -> None:
    m = metrics[name]
    m.requests += n
    m.retries["rate_limited"] += n
    m.pages += n
    m.records += 10 * n
    m.duplicates += 1
    m.bytes += 100 * n
    m.seconds += 0.5 * n
    m.minimum_requests += n


def test_taken_counts_merge_into_what_one_client_would_have_counted():
    one, run, worker = ClientMetrics(), ClientMetrics(), ClientMetrics()
    for n in (1, 2, 3):
        _count(one, "animals", n)
        _count(worker, "animals", n)
        run.merge(worker.take())
    _count(one, TOKEN, 1)
    _count(run, TOKEN, 1)

    assert worker.resources == {}
    assert run.snapshot() == one.snapshot()
    assert run.retries == 7 and run.requests == 7
    # Every field of ResourceMetrics was counted above, so none can be left out of the merge.
    assert all(getattr(run["animals"], f.name) for f in fields(ResourceMetrics))
