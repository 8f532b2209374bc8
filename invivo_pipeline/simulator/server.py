"""Running the simulator: in a background thread for tests (``SimulatorServer``), or in the
foreground for the ``invivo simulator`` command (``serve``).

Tests talk to it over real HTTP on 127.0.0.1 so that the client's connection handling, timeouts and
concurrency are exercised exactly as against the real API.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from invivo_pipeline.simulator.app import create_app
from invivo_pipeline.simulator.settings import SimulatorSettings
from invivo_pipeline.simulator.world import World, WorldConfig, build_world

STARTUP_TIMEOUT_S = 15.0


class SimulatorServer:
    """``with SimulatorServer() as sim: httpx.get(sim.base_url + ...)``.

    ``port=0`` picks a free port. Pass ``world`` to share one built world between servers.
    """

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
        self.app = create_app(self.world, self.settings)
        self.host = host
        self.port = port
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def start(self) -> SimulatorServer:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="invivo-simulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{self.port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

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
