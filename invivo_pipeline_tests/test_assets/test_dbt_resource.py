"""The dbt resource runs this environment's dbt, knows its version without asking it, and builds
no adapter in the Dagster process; with another dbt it asks, as dagster-dbt does."""

import subprocess
import sys
from pathlib import Path

from packaging.version import Version

from invivo_pipeline.assets.dbt import dbt_cli, dbt_project
from invivo_pipeline.assets.dbt_resource import InVivoDbtCliResource, dbt_executable


def test_the_dbt_beside_the_interpreter_is_run_and_its_version_is_the_one_it_reports():
    assert Path(dbt_executable()).parent == Path(sys.executable).parent
    reported = subprocess.run(
        [dbt_executable(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    resource = dbt_cli(dbt_project)
    assert f"installed: {resource._cli_version}" in reported, reported


def test_another_dbt_is_asked_its_version(tmp_path):
    other = tmp_path / "dbt"
    other.write_text("#!/bin/sh\necho 'Core:'\necho '  - installed: 1.9.4'\n")
    other.chmod(0o755)
    resource = InVivoDbtCliResource(project_dir=dbt_project, dbt_executable=str(other))
    assert resource._cli_version == Version("1.9.4")


def test_a_dbt_command_runs_with_no_adapter_in_this_process(tmp_path, monkeypatch):
    monkeypatch.setenv("INVIVO_DUCKDB_PATH", str(tmp_path / "unused.duckdb"))
    invocation = (
        dbt_cli(dbt_project)
        .cli(["ls", "--select", "stg_invivo__animals"], target_path=tmp_path / "target")
        .wait()
    )
    assert invocation.is_successful()
    assert invocation.adapter is None
    assert not (tmp_path / "unused.duckdb").exists()
