"""The ``invivo_raw`` DDL follows the warehouse contract and migrates by adding, idempotently."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

import duckdb
import pytest

from invivo_pipeline.core.model_fields import NumericString, Quantity, Ref
from invivo_pipeline.sources.invivo import models as m
from invivo_pipeline.sources.invivo import table as resource_table
from invivo_pipeline.sources.invivo.table import INVIVO_SCHEMA as SCHEMA
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import SqlType, Warehouse, WarehouseSchemaError, table_spec
from invivo_pipeline.warehouse.schema import (
    LOAD_STATE_TABLE,
    MIGRATIONS_TABLE,
    REJECTED_TABLE,
    Source,
    table_specs,
)
from invivo_pipeline_tests.support.warehouse import measurements

ALL_TABLES = {r.name for r in RESOURCES}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [SCHEMA]
    ).fetchall()
    return {r[0] for r in rows}


def test_every_resource_has_its_table(wh):
    wh.ensure_schema()
    with wh.reader() as con:
        assert _tables(con) == ALL_TABLES | {MIGRATIONS_TABLE, LOAD_STATE_TABLE, REJECTED_TABLE}
    assert wh.row_counts() == dict.fromkeys(ALL_TABLES, 0)


def test_json_columns_are_stored_with_zstd(wh):
    """Long JSON text is what a load writes most of: zstd makes it small and fast to commit."""
    wh.ensure_schema()
    with wh.reader() as con:
        [(ddl,)] = con.execute(
            "SELECT sql FROM duckdb_tables() WHERE schema_name = ? AND table_name = 'measurements'",
            [SCHEMA],
        ).fetchall()
    assert "_record JSON USING COMPRESSION ZSTD," in ddl
    assert "calculations JSON USING COMPRESSION ZSTD," in ddl
    assert "measured_at DATE," in ddl


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            "measurements",
            {
                "study_id": "VARCHAR",
                "animal_id": "VARCHAR",
                "user_id": "VARCHAR",
                "measured_at": "DATE",
                "calculations": "JSON",
                "created_at": "TIMESTAMPTZ",
            },
        ),
        (
            "dosages",
            {
                "treatment_id": "VARCHAR",
                "measurement_id": "VARCHAR",
                "dose": "JSON",
                "dose_volume": "JSON",
                "stock": "JSON",
                "volume": "JSON",
                "weight_at_dosing": "VARCHAR",
                "dosed_at": "TIMESTAMPTZ",
            },
        ),
        (
            "studies",
            {
                "id": "VARCHAR",
                "author_id": "VARCHAR",
                "owner_id": "VARCHAR",
                "project_id": "VARCHAR",
                "started_on": "DATE",
                "created_at": "TIMESTAMPTZ",
                "metadata": "JSON",
            },
        ),
        ("metadata_options", {"metadata_id": "VARCHAR", "value": "VARCHAR"}),
        ("study_presets", {"study_id": "VARCHAR", "name": "VARCHAR", "calculations": "JSON"}),
        (
            "animals",
            {
                "study_group_id": "VARCHAR",
                "cage_id": "VARCHAR",
                "terminated_by_id": "VARCHAR",
                "terminated_reason": "JSON",
                "number": "BIGINT",
                "disease_survivor": "BOOLEAN",
                "dob": "DATE",
            },
        ),
        ("strains", {"species_id": "VARCHAR", "active": "BOOLEAN"}),
        (
            "project_user_roles",
            {"project_id": "VARCHAR", "role_id": "VARCHAR", "user_id": "VARCHAR"},
        ),
        ("study_group_treatments", {"study_id": "VARCHAR", "study_group_id": "VARCHAR"}),
        ("study_requests", {"user_id": "VARCHAR", "groups": "JSON", "due_date": "DATE"}),
        ("glossary", {"group": "VARCHAR"}),
    ],
)
def test_columns_follow_the_contract(wh, table, expected):
    wh.ensure_schema()
    columns = dict(wh.table_schema(table))
    for name, sql_type in expected.items():
        assert columns.get(name) == sql_type, f"{table}.{name}"
    assert columns["_record"] == "JSON"
    assert columns["_loaded_at"] == "TIMESTAMPTZ"
    # Embedded objects appear only as their ids.
    assert not {"study", "animal", "user", "author", "owner", "project", "cage"} & set(columns)


def test_context_keys_lead_and_audit_columns_close_every_table():
    for spec in table_specs(RESOURCES).values():
        names = spec.column_names
        assert names[: len(spec.resource.context_keys)] == spec.resource.context_keys
        assert names[-2:] == ("_record", "_loaded_at")
        assert len(set(names)) == len(names)
        assert set(spec.primary_key) <= set(names)


def test_every_ref_field_becomes_an_id_column():
    for spec in table_specs(RESOURCES).values():
        for name, info in spec.resource.model.model_fields.items():
            annotation = info.annotation
            if annotation is not None and Ref in getattr(annotation, "__args__", (annotation,)):
                column = spec.column(f"{name}_id")
                assert column.type is SqlType.VARCHAR
                assert column.source is Source.REF


def test_primary_keys_come_from_the_resource_table_and_are_not_declared(wh):
    wh.ensure_schema()
    assert wh.primary_key("metadata_options") == ("metadata_id", "value")
    assert wh.primary_key("study_users") == ("study_id", "id")
    assert wh.primary_key("study_presets") == ("study_id",)
    assert wh.primary_key("measurements") == ("id",)
    with wh.reader() as con:
        declared = con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE schema_name = ? "
            "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE') AND table_name <> ?",
            [SCHEMA, LOAD_STATE_TABLE],
        ).fetchone()
    assert declared == (0,)


def test_field_types_map_to_duckdb_types():
    class Probe(m.ApiModel):
        id: str
        count: int | None = None
        flag: bool | None = None
        ratio: float | None = None
        exact: NumericString | None = None
        on: date | None = None
        at: datetime | None = None
        dose: Quantity | None = None
        tags: list[str] | None = None
        extra: dict[str, Any] | None = None
        anything: Any = None
        owner: Ref | None = None

    resource = dataclasses.replace(resource_table.get("species"), name="probe", model=Probe)
    types = {c.name: c.type.value for c in table_spec(resource).columns}
    assert types == {
        "id": "VARCHAR",
        "count": "BIGINT",
        "flag": "BOOLEAN",
        "ratio": "DOUBLE",
        "exact": "VARCHAR",
        "on": "DATE",
        "at": "TIMESTAMPTZ",
        "dose": "JSON",
        "tags": "JSON",
        "extra": "JSON",
        "anything": "JSON",
        "owner_id": "VARCHAR",
        "_record": "JSON",
        "_loaded_at": "TIMESTAMPTZ",
    }


def test_a_ref_colliding_with_a_plain_field_is_refused():
    class Clash(m.ApiModel):
        id: str
        user: Ref | None = None
        user_id: str | None = None

    resource = dataclasses.replace(resource_table.get("species"), name="clash", model=Clash)
    with pytest.raises(WarehouseSchemaError, match="user_id"):
        table_spec(resource)


def test_ensure_schema_is_idempotent(wh):
    first = wh.ensure_schema()
    assert any("CREATE TABLE" in s and '"measurements"' in s for s in first)
    shapes = {t: wh.table_schema(t) for t in ALL_TABLES}
    assert wh.ensure_schema() == []
    assert wh.ensure_schema() == []
    assert {t: wh.table_schema(t) for t in ALL_TABLES} == shapes
    assert wh.schema_version() == 1
    with wh.reader() as con:
        assert con.execute(f"SELECT count(*) FROM {SCHEMA}.{MIGRATIONS_TABLE}").fetchone() == (1,)


class MeasurementV2(m.Measurement):
    site: str | None = None
    caliper: Ref | None = None


def _with_model(name: str, model: type) -> tuple[resource_table.Resource, ...]:
    return tuple(dataclasses.replace(r, model=model) if r.name == name else r for r in RESOURCES)


def test_a_new_model_field_is_added_as_a_column(db_path):
    old = Warehouse(db_path, resources=RESOURCES)
    old.load("measurements", [measurements("sdy_1", 3)], partition_key="sdy_1")

    new = Warehouse(db_path, resources=_with_model("measurements", MeasurementV2))
    statements = new.ensure_schema()
    assert statements == [
        'ALTER TABLE "invivo_raw"."measurements" ADD COLUMN "site" VARCHAR',
        'ALTER TABLE "invivo_raw"."measurements" ADD COLUMN "caliper_id" VARCHAR',
    ]
    assert new.schema_version() == 2
    assert new.ensure_schema() == []
    columns = dict(new.table_schema("measurements"))
    assert columns["site"] == "VARCHAR" and columns["caliper_id"] == "VARCHAR"
    # Existing rows are kept; the new columns are empty until the next load fills them.
    rows = new.fetch_table("measurements")
    assert len(rows) == 3 and all(r["site"] is None for r in rows)

    batch = measurements("sdy_1", 2)
    for record in batch.records:
        record["site"] = "flank"
        record["caliper"] = {"id": "cal_1"}
    new.load("measurements", [batch], partition_key="sdy_1")
    assert {(r["site"], r["caliper_id"]) for r in new.fetch_table("measurements")} == {
        ("flank", "cal_1")
    }
    # The old code still loads into the wider table.
    old.load("measurements", [measurements("sdy_2", 1)], partition_key="sdy_2")
    assert old.row_counts()["measurements"] == 3


def test_a_new_resource_gets_its_table(db_path):
    Warehouse(db_path, resources=RESOURCES).ensure_schema()
    extra = dataclasses.replace(resource_table.get("species"), name="species_archive")
    statements = Warehouse(db_path, resources=(*RESOURCES, extra)).ensure_schema()
    assert len(statements) == 1 and '"species_archive"' in statements[0]


def test_a_changed_column_type_needs_a_hand_written_migration(db_path):
    class MeasurementDrift(m.Measurement):
        measured_at: int  # type: ignore[assignment]

    Warehouse(db_path, resources=RESOURCES).ensure_schema()
    drifted = Warehouse(db_path, resources=_with_model("measurements", MeasurementDrift))
    with pytest.raises(WarehouseSchemaError, match=r"measurements\.measured_at is DATE"):
        drifted.ensure_schema()
    assert Warehouse(db_path, resources=RESOURCES).schema_version() == 1
