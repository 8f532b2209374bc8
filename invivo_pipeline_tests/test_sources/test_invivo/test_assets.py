"""The ingestion assets as Dagster sees them: one per resource, each materializable on its own
(as from the UI), with metadata, checks, and no secret anywhere in what Dagster stores."""

from __future__ import annotations

import dagster as dg
import pytest

from invivo_pipeline.assets.warehouse_resource import WarehouseResource
from invivo_pipeline.definitions import defs
from invivo_pipeline.sources.invivo.api_resource import InVivoApiResource
from invivo_pipeline.sources.invivo.assets import CHECK_SPECS, asset_key, invivo_ingestion
from invivo_pipeline.sources.invivo.partitions import STUDY_PARTITIONS_NAME
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    SimulatorSettings,
)
from invivo_pipeline.sources.invivo.table import RESOURCES, STUDY
from invivo_pipeline.warehouse import Warehouse

SECRET = "s3cret-that-must-never-be-stored"


@pytest.fixture(scope="module")
def server():
    settings = SimulatorSettings(client_secret=SECRET)
    with SimulatorServer(
        WorldConfig(seed=31, studies=3, animals_per_study=8, days=6), settings
    ) as s:
        yield s


@pytest.fixture
def resources(server, tmp_path):
    return {
        "invivo_api": InVivoApiResource(
            base_url=server.base_url, client_id=DEMO_CLIENT_ID, client_secret=SECRET
        ),
        "warehouse": WarehouseResource(path=str(tmp_path / "invivo.duckdb")),
    }


@pytest.fixture
def instance(server):
    inst = dg.DagsterInstance.ephemeral()
    inst.add_dynamic_partitions(
        STUDY_PARTITIONS_NAME, [r.body["id"] for r in server.world.records("studies")]
    )
    return inst


def test_one_asset_per_resource_with_what_the_ui_shows():
    graph = defs.resolve_asset_graph()
    for resource in RESOURCES:
        node = graph.get(asset_key(resource.name))
        assert node.group_name == "invivo_raw"
        assert {"duckdb", "python"} <= set(node.kinds)
        assert node.owners == ["team:preclinical-data"]
        assert resource.description in (node.description or "")
        schema = node.metadata["dagster/column_schema"]
        assert {c.name for c in schema.columns} >= {"_record", "_loaded_at"}
        assert (node.partitions_def is not None) == (resource.scope is STUDY)
    checks = {(c.asset_key.path[-1], c.name) for c in CHECK_SPECS}
    assert ("measurements", "animal_id_references_animals") in checks
    assert ("dosages", "numeric_strings_parse") in checks
    assert all((r.name, "primary_key_unique") in checks for r in RESOURCES)


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_each_asset_materializes_alone(resource, resources, instance, server, tmp_path):
    partition = server.world.records("studies")[0].body["id"]
    result = dg.materialize(
        [invivo_ingestion],
        selection=[asset_key(resource.name)],
        partition_key=partition if resource.scope is STUDY else None,
        resources=resources,
        instance=instance,
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    assert event.asset_key == asset_key(resource.name)
    metadata = event.materialization.metadata
    counts = Warehouse(tmp_path / "invivo.duckdb", resources=RESOURCES).row_counts()
    assert metadata["dagster/row_count"].value == counts[resource.name]
    assert {n for n, c in counts.items() if c} <= {resource.name}, "only the selected table"
    assert metadata["requests"].value >= metadata["minimum_requests"].value >= 1
    assert "dagster/column_schema" not in metadata, "on the definition, not once per partition"
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["primary_key_unique"].passed
    # Alone in an empty warehouse, a table's parents are missing, and its reference checks say so.
    for column, target in resource.references:
        check = checks[f"{column}_references_{target}"]
        assert check.passed == (counts[resource.name] == 0)


def test_a_run_over_every_study_and_every_table_stores_no_secret(resources, instance, server):
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    keys = instance.get_dynamic_partitions(STUDY_PARTITIONS_NAME)
    job = dg.Definitions(
        assets=[invivo_ingestion],
        jobs=[dg.define_asset_job("all", selection=dg.AssetSelection.all())],
        resources=resources,
    ).resolve_job_def("all")
    result = job.execute_in_process(
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]},
    )
    assert result.success
    materialized = {
        (e.asset_key.path[-1], e.partition) for e in result.get_asset_materialization_events()
    }
    for resource in RESOURCES:
        if resource.scope is STUDY:
            assert {(resource.name, k) for k in keys} <= materialized
        else:
            assert (resource.name, None) in materialized
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed == [], [(c.asset_key, c.check_name, c.metadata) for c in failed]
    stored = repr(list(instance.all_logs(result.run_id))) + repr(
        instance.get_run_by_id(result.run_id)
    )
    assert SECRET not in stored
