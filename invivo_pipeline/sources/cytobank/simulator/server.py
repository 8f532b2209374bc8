"""The Cytobank simulator in a background thread on loopback (tests, the demo)."""

from __future__ import annotations

from typing import Any

from invivo_pipeline.core.background_server import BackgroundServer
from invivo_pipeline.sources.cytobank.simulator.app import create_app
from invivo_pipeline.sources.cytobank.simulator.settings import CytobankSimulatorSettings
from invivo_pipeline.sources.cytobank.simulator.world import CytobankWorld, build_cytobank_world
from invivo_pipeline.sources.cytobank.table import API_PREFIX
from invivo_pipeline.sources.invivo.simulator.generate.world import World, WorldConfig, build_world


class CytobankSimulatorServer(BackgroundServer):
    """``with CytobankSimulatorServer(world=invivo_world) as sim: ... sim.api_root ...``.

    Its experiments are derived from the In Vivo ``world`` (built from ``world_config`` if not
    given), so its files link to that world's samples.
    """

    name = "cytobank-simulator"

    def __init__(
        self,
        world_config: WorldConfig | None = None,
        settings: CytobankSimulatorSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        world: World | None = None,
    ) -> None:
        self.settings = settings or CytobankSimulatorSettings()
        invivo = world if world is not None else build_world(world_config or WorldConfig())
        self.world: CytobankWorld = build_cytobank_world(invivo)
        super().__init__(create_app(self.world, self.settings), host, port)

    @property
    def api_root(self) -> str:
        """What ``CYTOBANK_BASE_URL`` is set to: ``http://127.0.0.1:<port>/cytobank/api/v1``."""
        return self.base_url + API_PREFIX

    def stats(self) -> dict[str, Any]:
        return self.app.state.stats.snapshot()

    def reset_stats(self) -> None:
        self.app.state.stats.reset()
