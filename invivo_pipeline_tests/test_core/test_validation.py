"""Each record is checked against its model. A wrong record of a page is set aside (a reject naming
field and value) and the rest of the page goes on; a wrong retrieved object is named by resource,
URL and field."""

from __future__ import annotations

import copy

import orjson
import pytest

from invivo_pipeline.core.errors import RecordValidationError
from invivo_pipeline_tests.support.client import run_client
from invivo_pipeline_tests.support.reference import endpoint_examples

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


async def _pages(client):
    return [b async for b in client.iter_pages("measurements", {"study_id": "sdy_1"})]


def test_reference_records_pass_and_stay_raw(stub):
    stub.state.lists[MEASUREMENTS] = _measurements(5)

    result, client = run_client(stub, _list)

    assert result == stub.state.lists[MEASUREMENTS]
    assert client.metrics["measurements"].records == 5


def test_one_bad_record_of_n_is_set_aside_and_the_other_records_go_on(stub):
    stub.state.lists[MEASUREMENTS] = _measurements(30)
    stub.state.per_page_cap = 10
    stub.state.lists[MEASUREMENTS][13]["measured_at"] = "not-a-date"
    sent = copy.deepcopy(stub.state.lists[MEASUREMENTS][13])

    batches, client = run_client(stub, _pages)

    assert [len(b) for b in batches] == [10, 9, 10]
    kept = [r["id"] for b in batches for r in b.records]
    assert kept == [f"mst_{i:04d}" for i in range(30) if i != 13]
    [reject] = batches[1].rejects
    assert not batches[0].rejects and not batches[2].rejects
    assert reject.record_id == "mst_0013"
    assert orjson.loads(reject.record) == sent  # the record as the API sent it
    assert reject.reason.startswith("measured_at: ") and "'not-a-date'" in reject.reason
    assert "\n" not in reject.reason
    assert client.metrics["measurements"].records == 29


def test_non_numeric_calculation_value_names_the_nested_field(stub):
    stub.state.lists[MEASUREMENTS] = _measurements(2)
    stub.state.lists[MEASUREMENTS][1]["calculations"][0]["value"] = "abc"

    result, _ = run_client(stub, _list)
    batches, _ = run_client(stub, _pages)

    assert [r["id"] for r in result] == ["mst_0000"]
    [reject] = batches[0].rejects
    assert reject.reason.startswith("calculations[0].value: ")
    assert "not a numeric string: 'abc'" in reject.reason


def test_an_embedded_object_with_a_null_id_is_no_link_not_a_bad_record(stub):
    stub.state.lists[MEASUREMENTS] = _measurements(2)
    stub.state.lists[MEASUREMENTS][0]["user"] = {"id": None, "name": "nobody"}
    stub.state.lists[MEASUREMENTS][1]["user"] = None

    batches, _ = run_client(stub, _pages)

    assert [r["id"] for b in batches for r in b.records] == ["mst_0000", "mst_0001"]
    assert not any(b.rejects for b in batches)


def test_retrieved_objects_are_validated_too(stub):
    stub.state.objects["/species/spc_1"] = {"id": 42, "name": "Mouse"}

    with pytest.raises(RecordValidationError, match=r"species: record 0 .* invalid at id"):
        run_client(stub, lambda c: c.retrieve("species", {}, "spc_1"))


# --- the lean twin: never accepts what the model rejects, and defers to the model otherwise ---


@pytest.mark.parametrize(
    "value, accepted",
    [
        ("190.33", True),
        ("-1e-3", True),
        (" 2.5 ", True),  # only Decimal reads it: the twin rejects, the model accepts
        ("1_000", True),
        ("NaN", False),
        ("Infinity", False),
        ("abc", False),
        ("", False),
    ],
)
def test_numeric_strings_pass_exactly_when_the_model_passes_them(value, accepted):
    import msgspec
    import orjson

    from invivo_pipeline.core.validation import page_adapter, twin_decoder, validate_page
    from invivo_pipeline.sources.invivo.table import get

    model = get("measurements").model
    records = _measurements(1)
    records[0]["calculations"][0]["value"] = value
    data = orjson.dumps(records)

    def model_accepts() -> bool:
        try:
            page_adapter(model).validate_python(records)
        except ValueError:
            return False
        return True

    def twin_accepts() -> bool:
        try:
            twin_decoder(model).decode(data)
        except msgspec.ValidationError:
            return False
        return True

    assert model_accepts() is accepted
    if twin_accepts():
        assert accepted  # the twin is never laxer than the model
    checked = validate_page(model, data)
    if accepted:
        assert len(checked.records) == 1 and not checked.rejects
    else:
        assert not checked.records
        assert checked.rejects[0].reason.startswith("calculations[0].value: ")


def test_the_twin_checks_every_field_of_every_resource_model_by_its_api_name():
    import msgspec

    from invivo_pipeline.core.validation import twin_decoder, twin_type
    from invivo_pipeline.sources.invivo.table import RESOURCES

    for resource in RESOURCES:
        assert twin_decoder(resource.model) is not None, resource.name
        twin = twin_type(resource.model)
        expected = {info.alias or name for name, info in resource.model.model_fields.items()}
        assert {f.encode_name for f in msgspec.structs.fields(twin)} == expected, resource.name


def test_the_twin_rejects_what_the_model_rejects_on_every_simulated_record():
    """Each simulated record, spoiled one field at a time: never accepted by the twin alone."""
    import msgspec
    import orjson
    from pydantic import ValidationError

    from invivo_pipeline.core.validation import page_adapter, twin_decoder
    from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig, build_world
    from invivo_pipeline.sources.invivo.table import RESOURCES

    world = build_world(WorldConfig(studies=2, animals_per_study=3, days=3))
    spoilers = [None, 12, "not-a-date", {"id": 5}, [1], True, "abc"]
    checked = 0
    for resource in RESOURCES:
        if resource.single:
            continue
        sample = world.records(resource.name)[:2]
        for record in (r.body for r in sample):
            for key in record:
                for spoiler in spoilers:
                    spoiled = [{**record, key: spoiler}]
                    try:
                        twin_decoder(resource.model).decode(orjson.dumps(spoiled))
                    except msgspec.ValidationError:
                        continue
                    try:
                        page_adapter(resource.model).validate_python(spoiled)
                    except ValidationError as exc:
                        raise AssertionError(f"{resource.name}.{key}={spoiler!r}: {exc}") from None
                    checked += 1
    assert checked > 100


def test_a_model_with_validators_of_its_own_gets_no_twin_and_checks_pages_itself():
    """A twin cannot mirror a validator, so it would pass what the model rejects."""
    import orjson
    from pydantic import BaseModel, field_validator

    from invivo_pipeline.core.validation import twin_decoder, validate_page

    class Even(BaseModel):
        n: int

        @field_validator("n")
        @classmethod
        def even(cls, value: int) -> int:
            if value % 2:
                raise ValueError("odd")
            return value

    class Holder(BaseModel):
        even: Even

    assert twin_decoder(Even) is None and twin_decoder(Holder) is None
    assert [r["n"] for r in validate_page(Even, b'[{"n":2}]').records] == [2]
    checked = validate_page(Holder, orjson.dumps([{"even": {"n": 2}}, {"even": {"n": 3}}]))
    assert checked.kept == [0]
    assert checked.rejects[0].reason.startswith("even.n: Value error, odd")
