"""``python -m bench.simulator``: the product's simulator, plus what the benchmark needs of it.

``POST /_bench/change-one-study`` lives one more day in exactly one in-progress study (the first),
so the incremental refresh that follows has one changed study to find, as the issue asks, and
delivers that day's webhook events when ``--webhook-url`` is given; the product's
``/_simulator/advance`` lives a day in every in-progress study at once.

``--rate-limit N --rate-window S`` makes the simulator enforce a real API's rate limit (429 with
``Retry-After`` past N requests in any S seconds), and ``GET /_bench/request-span`` then says when
the first and the last API request arrived, so the benchmark can compare the time the client took
with the least time that limit allows.
"""

from __future__ import annotations

import argparse
import sys
import time

import uvicorn
from fastapi import Request, Response

from invivo_pipeline.sources.invivo.simulator.generate.advance import WorldChange, advance
from invivo_pipeline.sources.invivo.simulator.generate.world import World, WorldConfig, build_world
from invivo_pipeline.sources.invivo.simulator.serve.app import create_app, json_response
from invivo_pipeline.sources.invivo.simulator.serve.settings import SimulatorSettings
from invivo_pipeline.sources.invivo.simulator.serve.webhook_emitter import deliver
from invivo_pipeline.sources.invivo.table import API_PREFIX

CHANGE_ONE_PATH = "/_bench/change-one-study"
REQUEST_SPAN_PATH = "/_bench/request-span"


class RequestSpan:
    """An ASGI wrapper that notes when the first and the last API request arrived (wall clock).

    Pure ASGI rather than a FastAPI middleware, so that it adds next to nothing per request."""

    def __init__(self, app) -> None:
        self.app = app
        self.first: float | None = None
        self.last: float | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            now = time.time()
            self.first = self.first or now
            self.last = now
        await self.app(scope, receive, send)


def change_one_study(world: World) -> tuple[dict[str, object], WorldChange]:
    """One day more in the first in-progress study only; the other studies are not touched."""
    simulations = world.simulations
    everyone = list(simulations)
    chosen = next(s for s in everyone if s.study.status == "in_progress")
    simulations[:] = [chosen]
    try:
        change = advance(world, 1)
    finally:
        simulations[:] = everyone
    return {"study_id": chosen.study.id, "created": change.created()}, change


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.simulator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--studies", type=int, required=True)
    parser.add_argument("--animals", type=int, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--rate-limit", type=int, help="API requests allowed per --rate-window")
    parser.add_argument("--rate-window", type=float, default=60.0, help="seconds")
    parser.add_argument("--webhook-url", help="where a change's webhook events are delivered")
    parser.add_argument("--webhook-secret")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    world = build_world(
        WorldConfig(studies=args.studies, animals_per_study=args.animals, days=args.days)
    )
    print(f"world built in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    settings = SimulatorSettings(
        rate_limit_per_minute=args.rate_limit,
        rate_limit_window_s=args.rate_window,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    )
    app = create_app(world, settings)
    span = RequestSpan(app)

    async def change_one(request: Request) -> Response:
        found, change = change_one_study(world)
        if settings.webhook_url:
            events = change.events(settings.client_id)
            await deliver(events, settings.webhook_url, settings.webhook_secret)
            found["events"] = len(events)
        return json_response(200, found)

    async def request_span(request: Request) -> Response:
        return json_response(200, {"first": span.first, "last": span.last})

    app.add_api_route(CHANGE_ONE_PATH, change_one, methods=["POST"], include_in_schema=False)
    app.add_api_route(REQUEST_SPAN_PATH, request_span, methods=["GET"], include_in_schema=False)
    served = span if args.rate_limit else app  # the unpaced figures stay as they were measured
    uvicorn.run(served, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
