"""Each record is checked against its model; a wrong value is named by resource, URL, index, field."""

from __future__ import annotations

import copy

import pytest

from invivo_pipeline.client import RecordValidationError
from invivo_pipeline_tests.reference import endpoint_examples
from invivo_pipeline_tests.test_client.support import run_client

MEASUREMENTS = "/studies/sdy_1/measurements"


def _example_measurement() -> dict:
    for example in endpoint_examples():
        if (
            example["kind"] == "response"
            and example["method"] == "GET"
            and example["path"].endswith("/measurements")
            and example["path"].startswith("/api/public/v1/studies/")
        ):
            return example["body"]["data"][0]
    raise AssertionError("the reference has a study measurements list example")


def _measurements(n: int) -> list[dict]:
    out = []
    for i in range(n):
        record = copy.deepcopy(_example_measurement())
        record["id"] = f"mst_{i:04d}"
        out.append(record)
    return out


def _list(client):
    return client.list_all("measurements", {"study_id": "sdy_1"})


def test_reference_records_pass_and_stay_raw(stub):
    stub.state.lists[MEASUREMENTS] = _measurements(5)

    result, client = run_client(stub, _list)

    assert result == stub.state.lists[MEASUREMENTS]
    assert client.metrics["measurements"].records == 5


def test_wrong_date_names_resource_url_index_and_field(stub):
    stub.state.lists[MEASUREMENTS] = _measurements(30)
    stub.state.per_page_cap = 10
    stub.state.lists[MEASUREMENTS][13]["measured_at"] = "not-a-date"

    with pytest.raises(RecordValidationError) as info:
        run_client(stub, _list)

    err = info.value
    assert err.resource == "measurements"
    assert err.index == 3
    assert err.field == "measured_at"
    assert err.url == f"{stub.url}/api/public/v1{MEASUREMENTS}?page=2&perPage=10"
    message = str(err)
    assert message.startswith(f"measurements: record 3 of GET {err.url} is invalid at measured_at")
    assert "'not-a-date'" in message and "\n" not in message


def test_non_numeric_calculation_value_names_the_nested_field(stub):
    stub.state.lists[MEASUREMENTS] = _measurements(2)
    stub.state.lists[MEASUREMENTS][1]["calculations"][0]["value"] = "abc"

    with pytest.raises(RecordValidationError) as info:
        run_client(stub, _list)

    assert info.value.index == 1
    assert info.value.field == "calculations[0].value"
    assert "not a numeric string: 'abc'" in str(info.value)


def test_retrieved_objects_are_validated_too(stub):
    stub.state.objects["/species/spc_1"] = {"id": 42, "name": "Mouse"}

    with pytest.raises(RecordValidationError, match=r"species: record 0 .* invalid at id"):
        run_client(stub, lambda c: c.retrieve("species", {}, "spc_1"))
