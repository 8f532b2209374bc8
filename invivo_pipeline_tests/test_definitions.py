"""``dg dev`` (through ``[tool.dg]``) and ``dagster dev -w workspace.yaml`` from the repository root
load the code location; its assets carry their automation conditions and freshness policies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # a process of its own
def test_the_workspace_validates_as_dagster_dev_loads_it(tmp_path):
    dagster = shutil.which("dagster")
    assert dagster, "dagster is a dependency: pip install -e ."
    result = subprocess.run(
        [dagster, "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            "PATH": str(Path(dagster).parent),
            "DAGSTER_HOME": str(tmp_path),
            "HOME": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


@pytest.mark.slow  # a process of its own
def test_dg_check_defs_passes_from_the_repository_root_without_warnings(tmp_path):
    dg_cli = Path(sys.executable).parent / "dg"
    assert dg_cli.exists(), "dagster-dg-cli is a dependency: pip install -e ."
    shutil.copy(ROOT / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    result = subprocess.run(
        [str(dg_cli), "check", "defs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={
            "PATH": str(dg_cli.parent),
            "DAGSTER_HOME": str(tmp_path),
            "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT),
        },
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "All definitions loaded successfully" in output
    assert "PreviewWarning" not in output and "SupersessionWarning" not in output, output


def test_marts_reports_and_global_raw_tables_carry_a_freshness_policy():
    import dagster as dg

    from invivo_pipeline.assets.freshness import DAILY
    from invivo_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    policies = {key: graph.get(key).freshness_policy for key in graph.get_all_asset_keys()}
    for key, policy in policies.items():
        node = graph.get(key)
        watched = node.group_name in ("marts", "reports") or (
            node.group_name == "invivo_raw" and node.partitions_def is None
        )
        assert policy == (DAILY if watched else None), key
    assert policies[dg.AssetKey(["invivo_raw", "studies"])] == DAILY
    assert policies[dg.AssetKey(["marts", "fct_animal_day"])] == DAILY
    assert policies[dg.AssetKey(["invivo_raw", "measurements"])] is None  # per study


def test_every_job_runs_its_steps_in_the_run_process():
    """The automation's runs (the implicit asset job) and the UI's runs of a sync job included:
    a step process of its own would cost each step a Python start and an import of the code."""
    from invivo_pipeline.definitions import defs

    jobs = [defs.resolve_implicit_global_asset_job_def(), *defs.resolve_all_job_defs()]
    assert {job.name: job.executor_def.name for job in jobs} == {
        job.name: "in_process" for job in jobs
    }


def test_loading_the_code_location_imports_no_matplotlib():
    """Every run process loads the code before its first step; matplotlib's import (about half a
    second) belongs to the step that draws, not to the ingestion or dbt step before it."""
    code = "import sys, invivo_pipeline.definitions; print(sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert "'invivo_pipeline.reports.build'" in loaded, "the reports' code is loaded"
    assert "matplotlib" not in loaded


# --- The Dagster UI as a user sees it ----------------------------------------------------------

GROUP_KINDS = {
    "invivo_raw": {"duckdb", "python"},
    "cytobank_raw": {"duckdb", "python"},
    "staging": {"dbt", "duckdb"},
    "marts": {"dbt", "duckdb"},
    "reports": {"python"},
}


def test_every_asset_has_a_known_group_its_kinds_an_owner_and_a_description():
    from invivo_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    groups: dict[str, int] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in GROUP_KINDS, key
        groups[node.group_name] = groups.get(node.group_name, 0) + 1
        assert GROUP_KINDS[node.group_name] <= set(node.kinds), key
        assert node.owners == ["team:preclinical-data"], key
        assert node.description and len(node.description) > 20, key
    assert set(groups) == set(GROUP_KINDS)
    checks = list(graph.asset_check_keys)
    assert len(checks) > 100, "ingestion checks and every dbt test show as asset checks"
    assert {c.asset_key.path[0] for c in checks} >= {"invivo_raw", "staging", "marts"}
    for key in graph.get_all_asset_keys():
        if key.path[0] == "invivo_raw":  # from the API reference, with the route it comes from
            assert "GET /api/public/v1/" in graph.get(key).description, key


def test_every_table_asset_shows_its_columns_and_row_count_after_a_sync(materialized):
    import dagster as dg

    from invivo_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    tables = [
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name in ("invivo_raw", "staging", "marts")
    ]
    with materialized.instance() as instance:
        for key in tables:
            event = instance.get_latest_materialization_event(key)
            assert event is not None and event.asset_materialization is not None, key
            metadata = event.asset_materialization.metadata
            rows = metadata.get("dagster/row_count")
            assert rows is not None and rows.value >= 0, key
            # A raw table's columns are on its definition (its materializations are one per
            # partition); a dbt model's on each materialization, as dbt built it.
            if key.path[0] == "invivo_raw":
                assert "dagster/column_schema" not in metadata, key
                schema = graph.get(key).metadata["dagster/column_schema"]
            else:
                schema = metadata["dagster/column_schema"].value
            assert isinstance(schema, dg.TableSchema), key
            assert len(schema.columns) >= 2, key
            assert all(c.type and c.type != "?" for c in schema.columns), key
    # dbt model columns carry the model docs' descriptions.
    with materialized.instance() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["marts", "rpt_tgi_by_day"]))
        columns = event.asset_materialization.metadata["dagster/column_schema"].value.columns
        described = {c.name: c.description for c in columns}
        assert described["tgi_delta_pct"] and described["study_id"] == "Study."
