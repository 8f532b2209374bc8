"""The toy API on loopback: ``GET /gauges`` and ``GET /gauges/{id}/readings``, one page each,
with one reading that is not a number (the quarantine must set it aside, not fail the run)."""

from __future__ import annotations

from fastapi import FastAPI

from invivo_pipeline.core.background_server import BackgroundServer

GAUGES = [{"id": "g1", "name": "north"}, {"id": "g2", "name": "south"}]
READINGS = {
    "g1": [{"id": "r1", "value": 1.5}, {"id": "r2", "value": 2.5}],
    "g2": [{"id": "r3", "value": 7.0}, {"id": "r4", "value": "not a number"}],
}


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/gauges")
    def gauges() -> list[dict[str, object]]:
        return GAUGES

    @app.get("/gauges/{gauge_id}/readings")
    def readings(gauge_id: str) -> list[dict[str, object]]:
        return READINGS.get(gauge_id, [])

    return app


class ToyServer(BackgroundServer):
    name = "toy API"

    def __init__(self) -> None:
        super().__init__(create_app())
