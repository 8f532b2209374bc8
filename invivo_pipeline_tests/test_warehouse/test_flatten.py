"""Records become Arrow rows shaped like their table; every bad value is a clear, early error."""

from __future__ import annotations

import orjson
import pytest

from invivo_pipeline.sources.invivo import table as resource_table
from invivo_pipeline.warehouse import WarehouseLoadError, table_spec
from invivo_pipeline.warehouse import flatten as flatten_module
from invivo_pipeline.warehouse.flatten import arrow_schema, flatten
from invivo_pipeline_tests.support.warehouse import (
    Batch,
    as_raw,
    measurements,
    normalised,
    reference_record,
)


def _flat(resource: str, batches: list[Batch], study_id: str | None = None) -> list[dict]:
    """The rows of ``batches`` read from dicts, checked to be what the same records read from
    their JSON bytes (as the API client hands pages on) give: the same rows or the same error."""
    spec = table_spec(resource_table.get(resource))
    as_sent = [as_raw(b) for b in batches]
    try:
        table = flatten(spec, batches, partition_key=study_id)
    except WarehouseLoadError as error:
        with pytest.raises(WarehouseLoadError) as raw_error:
            flatten(spec, as_sent, partition_key=study_id)
        assert str(raw_error.value) == str(error)
        raise
    assert table.schema == arrow_schema(spec)
    rows = table.to_pylist()
    assert normalised(
        spec, flatten(spec, as_sent, partition_key=study_id).to_pylist()
    ) == normalised(spec, rows)
    return rows


def test_embedded_objects_become_ids_and_nested_values_json():
    record = reference_record("dosages")
    record["weight_at_dosing"] = "1.60"
    study = record["study"]["id"]
    [row] = _flat("dosages", [Batch("dosages", {"study_id": study}, [record])], study)
    assert row["study_id"] == study
    assert row["animal_id"] == record["animal"]["id"]
    assert row["treatment_id"] == record["treatment"]["id"]
    assert row["measurement_id"] == record["measurement"]["id"]
    assert row["user_id"] == record["user"]["id"]
    assert row["weight_at_dosing"] == "1.60"
    assert orjson.loads(row["dose"]) == record["dose"]
    assert orjson.loads(row["dose"])["value"] == record["dose"]["value"]  # still a string
    assert row["dosed_at"] == record["dosed_at"]  # cast by DuckDB, not here
    assert orjson.loads(row["_record"]) == record
    assert "_loaded_at" not in row


def test_context_fills_what_records_do_not_carry():
    batch = Batch("metadata_options", {"metadata_id": "mgl_1"}, [{"value": "A"}, {"value": "B"}])
    rows = _flat("metadata_options", [batch])
    assert [(r["metadata_id"], r["value"]) for r in rows] == [("mgl_1", "A"), ("mgl_1", "B")]

    preset = reference_record("study_presets")
    study = preset["study"]["id"]
    assert (
        _flat("study_presets", [Batch("study_presets", {}, [preset])], study)[0]["study_id"]
        == study
    )
    del preset["study"]
    assert (
        _flat("study_presets", [Batch("study_presets", {"study_id": "sdy_x"}, [preset])], "sdy_x")[
            0
        ]["study_id"]
        == "sdy_x"
    )


def test_a_flat_id_is_accepted_when_the_object_is_absent():
    record = reference_record("studies")
    project = record.pop("project")["id"]
    record["project_id"] = project
    assert _flat("studies", [Batch("studies", {}, [record])])[0]["project_id"] == project
    record["project"] = {"id": "pjt_other"}
    with pytest.raises(WarehouseLoadError, match=r"studies\.project_id.*pjt_other"):
        _flat("studies", [Batch("studies", {}, [record])])


def test_a_record_of_another_study_is_a_data_error():
    batch = measurements("sdy_B", 2)
    with pytest.raises(WarehouseLoadError) as err:
        _flat("measurements", [Batch("measurements", {}, batch.records)], "sdy_A")
    message = str(err.value)
    assert "invivo_raw.measurements.study_id" in message
    assert "'sdy_B'" in message and "'sdy_A'" in message
    assert "id='mst_sdy_B_0'" in message

    with pytest.raises(WarehouseLoadError, match="batch of study 'sdy_B'"):
        _flat("measurements", [batch], "sdy_A")


def test_a_missing_context_key_is_a_data_error():
    with pytest.raises(WarehouseLoadError, match=r"metadata_options\.metadata_id.*neither"):
        _flat("metadata_options", [Batch("metadata_options", {}, [{"value": "A"}])])


@pytest.mark.parametrize(
    ("resource", "field", "value", "pattern"),
    [
        ("species", "name", 42, r"species\.name: expected a string, got int"),
        ("species", "active", 2, r"species\.active: 2 is not a boolean"),
        ("study_groups", "max_animals", 2.5, r"study_groups\.max_animals: 2\.5 is not an integer"),
        ("study_groups", "no", True, r"study_groups\.no: True is not an integer"),
        ("measurements", "measured_at", 20241122, r"measurements\.measured_at: expected a DATE"),
        ("measurements", "animal", "aml_1", r"measurements\.animal_id: animal should be an object"),
        ("species", "id", None, r"species\.id: a primary key column is null"),
    ],
)
def test_a_value_of_the_wrong_type_names_table_column_and_record(resource, field, value, pattern):
    record = reference_record(resource)
    record[field] = value
    study = record["study"]["id"] if "study" in record else None
    with pytest.raises(WarehouseLoadError, match=pattern) as err:
        _flat(resource, [Batch(resource, {}, [record])], study)
    if value is not None:
        assert f"id={record['id']!r}" in str(err.value)


def test_lax_scalars_are_read_as_pydantic_reads_them():
    record = reference_record("study_groups")
    record.update(no="7", max_animals=10.0, control="true")
    study = record["study"]["id"]
    [row] = _flat("study_groups", [Batch("study_groups", {}, [record])], study)
    assert (row["no"], row["max_animals"], row["control"]) == (7, 10, True)


def test_missing_fields_and_nulls_are_null():
    [row] = _flat("species", [Batch("species", {}, [{"id": "spc_1"}])])
    assert row["name"] is None and row["active"] is None and row["created_at"] is None
    batch = Batch("metadata_glossary", {}, [{"id": "mgl_1", "options": None}])
    assert _flat("metadata_glossary", [batch])[0]["options"] is None


def test_a_batch_of_another_resource_is_refused():
    with pytest.raises(WarehouseLoadError, match="'species' batch"):
        _flat("users", [Batch("species", {}, [{"id": "spc_1"}])])


def test_big_batches_are_split_into_arrow_chunks(monkeypatch):
    monkeypatch.setattr(flatten_module, "CHUNK_ROWS", 4)
    spec = table_spec(resource_table.get("measurements"))
    table = flatten(
        spec, [measurements("sdy_1", 10), measurements("sdy_1", 0)], partition_key="sdy_1"
    )
    assert table.num_rows == 10
    assert [len(b) for b in table.to_batches()] == [4, 4, 2]
