"""Every JSON example of the API reference validates with the models: the models are the contract."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from invivo_pipeline.sources.invivo import table as resource_table
from invivo_pipeline.sources.invivo.models import OAuthToken, Page, WebhookEvent
from invivo_pipeline_tests.support.reference import endpoint_examples, webhook_examples

RESPONSES = [e for e in endpoint_examples() if e["kind"] == "response"]


def _records_of(example: dict) -> list[dict]:
    body = example["body"]
    return body.get("data", [body])


def _id(example: dict) -> str:
    return f"{example['method']} {example['path']} (line {example['line']})"


def test_fixture_holds_every_example_of_the_reference():
    # 123 endpoint examples and 44 webhook events were extracted; a shrinking count means the
    # extractor or the fixture broke.
    assert len(endpoint_examples()) == 123
    assert len(webhook_examples()) == 44


def test_every_get_route_of_the_table_has_a_reference_example():
    covered = set()
    for example in RESPONSES:
        if example["method"] == "GET" and (match := resource_table.match_path(example["path"])):
            covered.add(match.template)
    every_route = {
        template
        for resource in resource_table.RESOURCES
        for template in (*(r.path for r in resource.routes), *resource.retrieves)
    }
    assert every_route == covered


@pytest.mark.parametrize("example", RESPONSES, ids=_id)
def test_response_example_validates(example):
    body = example["body"]
    if example["path"].endswith("/oauth/token"):
        OAuthToken.model_validate(body)
        return
    if set(body) <= {"deleted", "success"}:
        return  # acknowledgements of writes carry no record
    match = resource_table.match_path(example["path"])
    if match is None and example["method"] == "PATCH":
        # Writes to resources the API offers no single GET for (team glossary) answer with the
        # record; its list route names the resource.
        match = resource_table.match_path(example["path"].rsplit("/", 1)[0])
    assert match is not None, f"no resource route matches {example['path']}"
    if "data" in body:
        Page.model_validate(body)
    for record in _records_of(example):
        match.resource.model.model_validate(record)


WEBHOOK_RESOURCES = {r.webhook_entity: r for r in resource_table.RESOURCES if r.webhook_entity}


@pytest.mark.parametrize("example", webhook_examples(), ids=lambda e: e["event"])
def test_webhook_example_validates(example):
    event = WebhookEvent.model_validate(example["body"])
    entity, _, action = event.event.rpartition(".")
    if action == "updated" and entity.endswith(".metadata"):
        entity = entity.removesuffix(".metadata")
    if entity in WEBHOOK_RESOURCES and action in {"created", "updated", "deleted"}:
        WEBHOOK_RESOURCES[entity].model.model_validate(event.payload)


def _measurement_example() -> dict:
    for example in RESPONSES:
        if example["path"].endswith("/measurements") and "data" in example["body"]:
            return copy.deepcopy(example["body"]["data"][0])
    raise AssertionError("no measurement list example")


def test_unknown_fields_are_kept():
    record = _measurement_example() | {"new_field_from_a_future_version": {"a": 1}}
    model = resource_table.get("measurements").model.model_validate(record)
    assert model.model_extra["new_field_from_a_future_version"] == {"a": 1}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.__setitem__("measured_at", "yesterday-ish"), "measured_at"),
        (lambda r: r["calculations"][0].__setitem__("value", "12,5 mm"), "value"),
        (lambda r: r.pop("id"), "id"),
        (lambda r: r["calculations"][0].__setitem__("excluded", "perhaps"), "excluded"),
    ],
)
def test_fields_the_warehouse_needs_are_strict(mutate, field):
    record = _measurement_example()
    mutate(record)
    with pytest.raises(ValidationError) as excinfo:
        resource_table.get("measurements").model.model_validate(record)
    assert field in str(excinfo.value)
