"""One process of the shared-budget test: fetch every study's data through a request budget.

``python -m invivo_pipeline_tests.test_core.budget_worker BASE_URL START_AT MAX PERIOD [FILE]``
waits until the wall-clock time ``START_AT`` (so that the test's processes overlap), then fetches
the animals and measurements of every study with at most ``MAX`` requests per ``PERIOD`` seconds:
in a window shared through ``FILE``, or in its own when no file is given. It prints its requests
and the 429s it met as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from invivo_pipeline.core.ratelimit import RateLimiter, SlidingWindowLimiter
from invivo_pipeline.core.shared_budget import SharedWindowLimiter
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)


async def fetch_everything(base_url: str, limiter: RateLimiter) -> dict[str, int]:
    config = ClientConfig(
        base_url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, requested_per_page=5, concurrency=4,
        max_retries=20, backoff_base_s=0.05, backoff_max_s=0.5,
    )  # fmt: skip
    async with InVivoClient(config, rate_limiter=limiter) as client:
        for study in await client.list_study_ids():
            await client.fetch_study(study, ["animals", "measurements"])
        snapshot = client.metrics.snapshot()
    return {
        "requests": snapshot["requests"],
        "rate_limited": snapshot["retries_by_cause"].get("rate_limited", 0),
    }


def main(argv: list[str]) -> None:
    base_url, start_at, max_requests, period = argv[0], float(argv[1]), int(argv[2]), float(argv[3])
    limiter: RateLimiter = (
        SharedWindowLimiter(argv[4], max_requests, period)
        if len(argv) > 4
        else SlidingWindowLimiter(max_requests, period)
    )
    time.sleep(max(0.0, start_at - time.time()))
    print(json.dumps(asyncio.run(fetch_everything(base_url, limiter))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
