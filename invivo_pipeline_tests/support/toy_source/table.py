"""The toy source's table of resources: one global list, one list per gauge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from invivo_pipeline.core.resource_spec import Resource, Route, Scope

TOY_SCHEMA = "toy_raw"
GAUGE = Scope("gauge", "gauge_id")


class Gauge(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str


class Reading(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    value: float


RESOURCES = (
    Resource(
        name="gauges",
        model=Gauge,
        primary_key=("id",),
        scope=Scope.GLOBAL,
        route=Route("/gauges"),
        description="Every gauge.",
        schema=TOY_SCHEMA,
    ),
    Resource(
        name="readings",
        model=Reading,
        primary_key=("id",),
        scope=GAUGE,
        route=Route("/gauges/{gauge_id}/readings"),
        description="A gauge's readings.",
        references=(("gauge_id", "gauges"),),
        schema=TOY_SCHEMA,
    ),
)
