"""What a simulated tenant holds, worked out from the simulator's world, independently of the
client: the records every table must end up with, and the fewest requests that could fetch them."""

from __future__ import annotations

import math
from typing import Any

from invivo_pipeline.core.resource_spec import Resource
from invivo_pipeline.sources.invivo.simulator.generate.world import World
from invivo_pipeline.sources.invivo.table import RESOURCES, STUDY


def contexts(world: World, resource: Resource) -> list[dict[str, str]]:
    """Every set of path placeholders a full extract lists ``resource`` for."""
    if resource.parent is not None:
        parent = next(r for r in RESOURCES if r.name == resource.parent)
        new_key = next(p for p in resource.route.placeholders if p not in parent.route.placeholders)
        return [
            {**ctx, new_key: rec.keys["id"]}
            for ctx in contexts(world, parent)
            for rec in records_in(world, parent, ctx)
        ]
    if resource.scope is STUDY:
        return [{"study_id": r.keys["id"]} for r in world.records("studies")]
    return [{}]


def records_in(world: World, resource: Resource, context: dict[str, str]) -> list[Any]:
    return [
        r
        for r in world.records(resource.name)
        if all(r.keys.get(k) == v for k, v in context.items())
    ]


def minimum_api_requests(world: World, per_page: int) -> int:
    """One request per page at the granted page size, one per single object (or its 404)."""
    total = 0
    for resource in RESOURCES:
        for ctx in contexts(world, resource):
            n = len(records_in(world, resource, ctx))
            total += 1 if resource.single else max(1, math.ceil(n / per_page))
    return total


def primary_key(resource: Resource, record: dict[str, Any], context: dict[str, str]) -> tuple:
    return tuple(
        str(record.get(k) if k in record else context.get(k)) for k in resource.primary_key
    )


def expected_records(world: World) -> dict[str, dict[tuple, dict[str, Any]]]:
    """Table → primary key → the record exactly as the API serves it."""
    expected: dict[str, dict[tuple, dict[str, Any]]] = {}
    for resource in RESOURCES:
        table = expected.setdefault(resource.name, {})
        for ctx in contexts(world, resource):
            for rec in records_in(world, resource, ctx):
                table[primary_key(resource, rec.body, {**rec.keys, **ctx})] = rec.body
    return expected
