"""Running the simulator: in a background thread for tests (``SimulatorServer``), or in the
foreground for the ``invivo simulator`` command (``serve``).

Tests talk to it over real HTTP on 127.0.0.1 so that the client's connection handling, timeouts and
concurrency are exercised exactly as against the real API.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx
import uvicorn

from invivo_pipeline.core.background_server import BackgroundServer
from invivo_pipeline.sources.invivo.simulator.generate.world import World, WorldConfig, build_world
from invivo_pipeline.sources.invivo.simulator.serve.app import create_app
from invivo_pipeline.sources.invivo.simulator.serve.settings import SimulatorSettings


class SimulatorServer(BackgroundServer):
    """``with SimulatorServer() as sim: httpx.get(sim.base_url + ...)``.

    ``port=0`` picks a free port. Pass ``world`` to share one built world between servers.
    """

    name = "simulator"

    def __init__(
        self,
        world_config: WorldConfig | None = None,
        settings: SimulatorSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        world: World | None = None,
    ) -> None:
        self.settings = settings or SimulatorSettings()
        self.world = world if world is not None else build_world(world_config or WorldConfig())
        super().__init__(create_app(self.world, self.settings), host, port)

    def advance(self, days: int = 1) -> dict[str, Any]:
        """Let ``days`` pass in the tenant (through the admin route, on the server's loop) and
        deliver the webhook events to ``settings.webhook_url`` if set; returns the summary."""
        response = httpx.post(
            f"{self.base_url}/_simulator/advance", params={"days": days}, timeout=120
        )
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self.app.state.simulator.stats.snapshot()

    def reset_stats(self) -> None:
        self.app.state.simulator.stats.reset()


def serve(world_config: WorldConfig, settings: SimulatorSettings, host: str, port: int) -> None:
    """Build the world and serve it until interrupted."""
    started = time.perf_counter()
    world = build_world(world_config)
    counts = world.counts()
    print(
        f"invivo simulator: {counts['studies']} studies, {counts['animals']} animals, "
        f"{counts['measurements']} measurements built in {time.perf_counter() - started:.1f}s; "
        f"serving http://{host}:{port} (client_id={settings.client_id})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(create_app(world, settings), host=host, port=port, log_level="warning")
