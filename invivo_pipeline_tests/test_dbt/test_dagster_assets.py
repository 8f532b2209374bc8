"""The dbt project as Dagster sees it: one lineage graph with the ingestion, tests as asset
checks, a manifest made on demand, failures in one line, and the warehouse's writer lock."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtProject

from invivo_pipeline.assets.dbt import (
    DBT_PROJECT_DIR,
    MANIFEST,
    dbt_cli,
    dbt_project,
    ensure_manifest,
    failure_summary,
    invivo_dbt,
    manifest_is_stale,
)
from invivo_pipeline.assets.warehouse_resource import WarehouseResource
from invivo_pipeline.cli.sync_run import _failure_line, dq_finding_count
from invivo_pipeline.definitions import defs
from invivo_pipeline.sources.cytobank.assets import cytobank_asset_key
from invivo_pipeline.sources.cytobank.table import CYTOBANK_RESOURCES
from invivo_pipeline.sources.invivo.assets import asset_key
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import writer_lock
from invivo_pipeline_tests.support.dbt import load
from invivo_pipeline_tests.support.dbt_scenario import two_control_study

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

REQUIRED_MARTS = {
    "dim_animal",
    "fct_animal_day",
    "rpt_group_day_summary",
    "rpt_tgi_by_day",
    "rpt_animal_tumor_response",
    "rpt_group_efficacy_summary",
    "fct_animal_time_to_event",
    "rpt_km_curve",
    "rpt_survival_summary",
    "rpt_bw_tolerability",
    "rpt_dosing_compliance",
    "rpt_study_census_daily",
    "rpt_observation_incidence",
    "rpt_sample_inventory",
    "rpt_study_overview",
}
REQUIRED_STAGING = {
    "stg_measurement_values",
    "stg_measurement_variables",
    "stg_dosages",
    "stg_entity_metadata",
}


def test_one_lineage_graph_from_the_api_tables_to_the_marts():
    graph = defs.resolve_asset_graph()
    staging = {k.path[-1] for k in invivo_dbt.keys if k.path[0] == "staging"}
    marts = {k.path[-1] for k in invivo_dbt.keys if k.path[0] == "marts"}
    assert staging >= REQUIRED_STAGING and marts >= REQUIRED_MARTS
    # dbt sources are the ingestion assets themselves, not look-alike external assets.
    assert graph.get(dg.AssetKey(["staging", "stg_animals"])).parent_keys == {asset_key("animals")}
    sources = {k for key in invivo_dbt.keys for k in graph.get(key).parent_keys} - invivo_dbt.keys
    cytobank = {cytobank_asset_key(r.name) for r in CYTOBANK_RESOURCES}
    assert sources <= {asset_key(r.name) for r in RESOURCES} | cytobank
    assert graph.get(dg.AssetKey(["staging", "stg_cytobank_fcs_files"])).parent_keys == {
        cytobank_asset_key(n) for n in ("fcs_files", "experiments", "sample_tags")
    }
    for key in invivo_dbt.keys:
        node = graph.get(key)
        assert node.group_name == key.path[0] if key.path[-1].startswith("stg_") else True
        # The intermediate models are keyed by their own schema and built with the marts' group.
        assert key.path[0] == "intermediate" if key.path[-1].startswith("int_") else True
        assert node.group_name in ("staging", "marts")
        assert {"dbt", "duckdb"} <= set(node.kinds)
        assert node.owners == ["team:preclinical-data"]
        assert node.description and not node.description.lstrip().startswith(("select", "with"))
    assert graph.get(dg.AssetKey(["marts", "seed_termination_reasons"])).group_name == "marts"


def test_every_dbt_test_is_an_asset_check_with_a_description():
    tests = [n for n in MANIFEST["nodes"].values() if n["resource_type"] == "test"]
    checks = {spec.key.name: spec for spec in invivo_dbt.check_specs}
    assert {t["name"] for t in tests} == set(checks)
    control = checks["assert_one_control_group_per_study"]
    assert control.asset_key == dg.AssetKey(["staging", "stg_study_groups"])
    assert control.description == "Every study with groups has exactly one control group."
    assert checks["assert_termination_reasons_mapped"].asset_key == dg.AssetKey(
        ["staging", "stg_animals"]
    )
    assert all(spec.description for spec in checks.values())


def test_the_sync_job_runs_the_ingestion_and_every_dbt_asset_and_check():
    job = defs.resolve_job_def("invivo_sync")
    keys = job.asset_layer.selected_asset_keys
    assert invivo_dbt.keys <= keys and asset_key("animals") in keys
    assert set(invivo_dbt.check_keys) <= set(job.asset_layer.asset_graph.asset_check_keys)


def test_the_manifest_is_made_when_missing_and_remade_when_a_file_changes(tmp_path):
    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    project = DbtProject(project_dir=copy)
    assert manifest_is_stale(project)
    manifest = ensure_manifest(project)
    assert manifest.exists() and not manifest_is_stale(project)
    made = manifest.stat().st_mtime
    ensure_manifest(project)  # fresh: no parse
    assert manifest.stat().st_mtime == made
    model = copy / "models" / "marts" / "dim_animal.sql"
    os.utime(model, (made + 1, made + 1))  # edited just after the parse
    assert manifest_is_stale(project)
    ensure_manifest(project)
    assert manifest.stat().st_mtime > made and not manifest_is_stale(project)
    # The repository's own manifest is current after the import above.
    assert not manifest_is_stale(dbt_project)


def _resources(db: Path, lock_timeout_s: float = 60.0) -> dict:
    return {
        "dbt": dbt_cli(dbt_project),
        "warehouse": WarehouseResource(path=str(db), lock_timeout_s=lock_timeout_s),
    }


def test_an_integrity_failure_fails_the_step_in_one_line_and_waits_for_the_writer_lock(tmp_path):
    db = tmp_path / "invivo.duckdb"
    study = two_control_study()  # a data-quality finding: two control groups
    study.animal("x2", "grp_gone", "KX")  # an integrity failure: a group that was never loaded
    load(db, [study])
    # Another writer (an ingestion load, say) holds the lock for a moment: dbt queues behind it.
    held = threading.Event()
    released_at: list[float] = []

    def hold() -> None:
        with writer_lock(db):
            held.set()
            time.sleep(1.5)
            released_at.append(time.time())

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [invivo_dbt], resources=_resources(db), instance=instance, raise_on_error=False
    )
    holder.join()
    assert not result.success
    assert _failure_line(result) == (
        "dbt test relationships_stg_animals_group_id__group_id__ref_stg_study_groups_ failed: "
        "1 failing row"
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    orphan = evaluations["relationships_stg_animals_group_id__group_id__ref_stg_study_groups_"]
    assert not orphan.passed and orphan.severity == dg.AssetCheckSeverity.ERROR
    # Data-quality tests that fail are reported with severity WARN and fail nothing themselves.
    for name in ("assert_one_control_group_per_study", "assert_length_not_below_width"):
        finding = evaluations[name]
        assert not finding.passed and finding.severity == dg.AssetCheckSeverity.WARN
        assert finding.metadata["dagster_dbt/failed_row_count"].value == 1
    assert dq_finding_count(evaluations.values()) == 2  # what `invivo sync` prints
    specs = {spec.key.name: spec for spec in invivo_dbt.check_specs}
    assert not specs["assert_one_control_group_per_study"].blocking
    assert specs["relationships_stg_animals_group_id__group_id__ref_stg_study_groups_"].blocking
    first_built = min(
        entry.timestamp
        for entry in instance.all_logs(result.run_id)
        if entry.dagster_event and entry.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
    )
    assert first_built >= released_at[0]


def test_dbt_gives_up_in_one_line_when_another_writer_keeps_the_file(tmp_path):
    db = tmp_path / "invivo.duckdb"
    with writer_lock(db):
        result = dg.materialize(
            [invivo_dbt],
            resources=_resources(db, lock_timeout_s=0.2),
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
    assert not result.success
    line = _failure_line(result)
    assert "another writer of this pipeline held invivo.duckdb.lock" in line, line


def test_dbt_before_any_ingestion_says_so_in_one_line(tmp_path):
    result = dg.materialize(
        [invivo_dbt],
        resources=_resources(tmp_path / "invivo.duckdb"),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    assert _failure_line(result) == (
        f"no warehouse at {tmp_path / 'invivo.duckdb'}: load the In Vivo tables first"
    )


@pytest.mark.parametrize("bad", [{"results": []}, None])
def test_a_build_that_ran_nothing_still_fails_in_one_line(bad):
    assert "dbt build failed" in failure_summary(bad)
