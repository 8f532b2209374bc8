"""Every GET route and retrieve of the resource table answers in the API reference's shapes.

For each route the reference's example is matched by path; the simulator's object (or each item of
its first page) must have at least the example's keys, in the example's order, recursively into
embedded objects, with the same JSON types wherever both sides are non-null. Metadata is free-form
and only has to be an object. Every served record must also validate with its resource's model.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from invivo_pipeline.sources.invivo import table as resource_table
from invivo_pipeline.sources.invivo.simulator.generate.records import Record
from invivo_pipeline.sources.invivo.simulator.generate.world import World
from invivo_pipeline.sources.invivo.simulator.serve.query import Endpoint, endpoints
from invivo_pipeline_tests.support.reference import endpoint_examples

FREE_FORM = frozenset({"metadata"})


def _reference_bodies() -> dict[str, dict[str, Any]]:
    """Example response body per route template, for GET responses of the reference."""
    bodies: dict[str, dict[str, Any]] = {}
    for example in endpoint_examples():
        if example["method"] != "GET" or example["kind"] != "response":
            continue
        match = resource_table.match_path(example["path"])
        assert match is not None, example["path"]
        bodies.setdefault(match.template, example["body"])
    return bodies


REFERENCE = _reference_bodies()
ENDPOINTS = endpoints()
ALL_TEMPLATES = {
    template
    for resource in resource_table.RESOURCES
    for template in (*(route.path for route in resource.routes), *resource.retrieves)
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_conforms(ours: Any, example: Any, where: str) -> None:
    assert _json_type(ours) == _json_type(example), f"{where}: {ours!r} vs {example!r}"
    if isinstance(example, dict):
        missing = [key for key in example if key not in ours]
        assert not missing, f"{where}: missing keys {missing}"
        shared_order = [key for key in ours if key in example]
        assert shared_order == list(example), f"{where}: key order {shared_order}"
        for key, expected in example.items():
            if ours[key] is None or expected is None:
                continue
            if key in FREE_FORM:
                assert isinstance(ours[key], dict), f"{where}.{key} is not an object"
                continue
            assert_conforms(ours[key], expected, f"{where}.{key}")
    elif isinstance(example, list) and example and ours and None not in (example[0], ours[0]):
        assert_conforms(ours[0], example[0], f"{where}[0]")


def _null_count(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, dict):
        return sum(_null_count(v) for v in value.values())
    if isinstance(value, list):
        return sum(_null_count(v) for v in value)
    return 0


def _richest(records: list[Record], placeholders: tuple[str, ...]) -> Record:
    """The record with the fewest nulls (so types get compared) that can fill the path."""
    usable = [r for r in records if all(p in r.keys for p in placeholders)]
    assert usable, f"no record fills {placeholders}"
    return min(usable, key=lambda r: _null_count(r.body))


def concrete_path(world: World, endpoint: Endpoint) -> str:
    record = _richest(world.records(endpoint.resource.name), endpoint.placeholders)
    return endpoint.template.format(**record.keys)


def test_every_route_of_the_table_has_an_endpoint_and_an_example():
    assert {e.template for e in ENDPOINTS} == ALL_TEMPLATES
    assert set(REFERENCE) == ALL_TEMPLATES


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.template)
def test_route_serves_the_reference_shape(world: World, api: httpx.Client, endpoint: Endpoint):
    path = concrete_path(world, endpoint)
    response = api.get(path, params={"perPage": 100} if endpoint.kind == "list" else None)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    example = REFERENCE[endpoint.template]
    model = endpoint.resource.model
    if endpoint.kind != "list":
        assert_conforms(body, example, endpoint.template)
        model.model_validate(body)
        return
    assert list(body) == list(example), "envelope keys"
    assert list(body["links"]) == list(example["links"])
    assert list(body["meta"]) == list(example["meta"])
    assert body["data"], f"{path} served an empty list; pick a path with records"
    for i, item in enumerate(body["data"]):
        assert_conforms(item, example["data"][0], f"{endpoint.template}[{i}]")
        model.model_validate(item)


def test_every_record_of_the_world_validates_with_its_model(world: World):
    for resource in resource_table.RESOURCES:
        records = world.records(resource.name)
        assert records, f"the default world has no {resource.name}"
        for record in records:
            resource.model.model_validate(record.body)


def test_conformance_check_fails_when_a_key_is_removed():
    example = REFERENCE["/studies/{study_id}/animals/{animal_id}/dosages/{id}"]
    broken = {**example, "animal": {k: v for k, v in example["animal"].items() if k != "cage_id"}}
    with pytest.raises(AssertionError, match="cage_id"):
        assert_conforms(broken, example, "dosage")
    reordered = dict(reversed(list(example.items())))
    with pytest.raises(AssertionError, match="key order"):
        assert_conforms(reordered, example, "dosage")
