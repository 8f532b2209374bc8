"""``invivo sync --full-refresh`` reaches the dbt step: the run config it builds is one the sync
job accepts, and it asks the dbt asset for a full build (a plain sync asks for none)."""

from __future__ import annotations

import dagster as dg
from typer.testing import CliRunner

from invivo_pipeline.cli.main import app
from invivo_pipeline.cli.sync_run import run_config
from invivo_pipeline.definitions import defs
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import Warehouse


def test_full_refresh_is_run_config_the_sync_job_accepts(tmp_path, monkeypatch):
    # The API resources read their settings from the environment, as `invivo sync` sets them.
    monkeypatch.setenv("INVIVO_BASE_URL", "https://tenant.example")
    monkeypatch.setenv("INVIVO_CLIENT_ID", "id")
    monkeypatch.setenv("INVIVO_CLIENT_SECRET", "secret")
    wh = Warehouse(tmp_path / "invivo.duckdb", resources=RESOURCES)
    job = defs.resolve_job_def("invivo_sync")
    full = run_config(wh, full_refresh=True)
    assert full["ops"] == {"invivo_dbt": {"config": {"full_refresh": True}}}
    assert "ops" not in run_config(wh)
    for config in (full, run_config(wh)):
        assert dg.validate_run_config(job, config)


def test_sync_offers_full_refresh():
    result = CliRunner().invoke(app, ["sync", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--full-refresh" in result.output
