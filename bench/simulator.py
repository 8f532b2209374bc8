"""``python -m bench.simulator``: the product's simulator, plus one route the benchmark needs.

``POST /_bench/change-one-study`` lives one more day in exactly one in-progress study (the first),
so the incremental refresh that follows has one changed study to find, as the issue asks; the
product's ``/_simulator/advance`` lives a day in every in-progress study at once.
"""

from __future__ import annotations

import argparse
import sys
import time

import uvicorn
from fastapi import Request, Response

from invivo_pipeline.simulator.advance import advance
from invivo_pipeline.simulator.app import create_app, json_response
from invivo_pipeline.simulator.settings import SimulatorSettings
from invivo_pipeline.simulator.world import World, WorldConfig, build_world

CHANGE_ONE_PATH = "/_bench/change-one-study"


def change_one_study(world: World) -> dict[str, object]:
    """One day more in the first in-progress study only; the other studies are not touched."""
    simulations = world.simulations
    everyone = list(simulations)
    chosen = next(s for s in everyone if s.study.status == "in_progress")
    simulations[:] = [chosen]
    try:
        change = advance(world, 1)
    finally:
        simulations[:] = everyone
    return {"study_id": chosen.study.id, "created": change.created()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.simulator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--studies", type=int, required=True)
    parser.add_argument("--animals", type=int, required=True)
    parser.add_argument("--days", type=int, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    world = build_world(
        WorldConfig(studies=args.studies, animals_per_study=args.animals, days=args.days)
    )
    print(f"world built in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    app = create_app(world, SimulatorSettings())

    async def change_one(request: Request) -> Response:
        return json_response(200, change_one_study(world))

    app.add_api_route(CHANGE_ONE_PATH, change_one, methods=["POST"], include_in_schema=False)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
