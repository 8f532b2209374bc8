"""The installed ``invivo`` script run the way cron, a container entry point or pipx run it: by its
full path, with a PATH that lacks the environment's ``bin`` (so no ``dbt`` on PATH), and with a
``DAGSTER_HOME`` that has no ``dagster.yaml``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtProject

from invivo_pipeline.assets.dbt import DBT_PROJECT_DIR, InVivoDbtPreparer
from invivo_pipeline.assets.dbt_resource import dbt_executable
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline_tests.support.cli import ROOT, SMALL_WORLD, assert_matches_world

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

BIN = Path(sys.executable).parent
PATH_WITHOUT_THE_VENV = "/usr/bin:/bin"
DAGSTER_NOISE = ("Welcome to Dagster", "Telemetry:", "No dagster instance configuration file")


def test_the_console_script_syncs_with_no_venv_on_path_and_no_dagster_noise(cli, tmp_path):
    assert shutil.which("dbt", path=PATH_WITHOUT_THE_VENV) is None, "a dbt outside the venv"
    home = tmp_path / "dagster_home"
    home.mkdir()
    with SimulatorServer(WorldConfig(seed=31, **SMALL_WORLD)) as server:
        result = subprocess.run(
            [str(BIN / "invivo"), "sync"],
            cwd=ROOT,
            env={
                **cli.env,
                "INVIVO_BASE_URL": server.base_url,
                "PATH": PATH_WITHOUT_THE_VENV,
                "DAGSTER_HOME": str(home),
            },
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert_matches_world(cli.db, server)
    assert re.search(r"dbt: [1-9]\d* models, [1-9]\d* tests passed", result.stdout), output
    for noise in DAGSTER_NOISE:
        assert noise not in output, output
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert [r.job_name for r in instance.get_runs()] == ["invivo_sync"]
    assert not (home / ".telemetry" / "id.yaml").exists(), "Dagster telemetry was set up"


def test_dbt_is_found_beside_the_interpreter_when_not_on_path(monkeypatch):
    monkeypatch.setenv("PATH", PATH_WITHOUT_THE_VENV)
    assert Path(dbt_executable()) == BIN / "dbt"


def test_the_manifest_is_parsed_with_no_venv_on_path(monkeypatch, tmp_path):
    project_dir = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project_dir, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb")
    )
    monkeypatch.setenv("PATH", PATH_WITHOUT_THE_VENV)
    monkeypatch.setenv("INVIVO_DUCKDB_PATH", str(tmp_path / "unused.duckdb"))
    project = DbtProject(project_dir=project_dir)
    assert not project.manifest_path.exists()
    InVivoDbtPreparer().prepare(project)
    assert project.manifest_path.exists()
