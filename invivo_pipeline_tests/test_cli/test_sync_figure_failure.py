"""A figure that cannot be drawn costs that figure in a real sync: the run succeeds, the study's
page and the other studies are written, and the summary names the figure in one line.

In process, so that the failure can be put in: no tenant data found yet breaks a figure (the
reports tests tried hostile values and text), so one study's spider raises, as a figure would on
data nobody foresaw. The reports draw in this process (``INVIVO_REPORT_WORKERS=1``) for the
same reason."""

from __future__ import annotations

import io

import dagster as dg
import pytest
from rich.console import Console

from invivo_pipeline.cli.console_summary import print_sync_summary
from invivo_pipeline.cli.sync_run import sync_everything
from invivo_pipeline.reports import response_plots
from invivo_pipeline.reports.files import reports_dir
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import Warehouse

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

WORLD = WorldConfig(seed=31, studies=3, animals_per_study=6, days=6)


def test_a_sync_whose_figure_fails_succeeds_and_says_which(tmp_path, monkeypatch):
    db = tmp_path / "warehouse" / "invivo.duckdb"
    with SimulatorServer(WORLD) as sim:
        for name, value in {
            "INVIVO_BASE_URL": sim.base_url,
            "INVIVO_CLIENT_ID": DEMO_CLIENT_ID,
            "INVIVO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
            "INVIVO_DUCKDB_PATH": str(db),
            "INVIVO_REPORT_WORKERS": "1",
        }.items():
            monkeypatch.setenv(name, value)
        for name in ("DAGSTER_HOME", "CYTOBANK_BASE_URL", "INVIVO_REPORTS_DIR"):
            monkeypatch.delenv(name, raising=False)
        victim = sim.world.studies[0]
        spider_png = response_plots.spider_png

        def failing_spider(study):
            if study.study_id == victim.id:
                raise ValueError("no room for this animal")
            return spider_png(study)

        monkeypatch.setattr(response_plots, "spider_png", failing_spider)
        summary = sync_everything(
            warehouse=Warehouse(db, resources=RESOURCES), inst=dg.DagsterInstance.ephemeral()
        )

    assert summary.figures_failed == {victim.id: {"spider": "ValueError: no room for this animal"}}
    reports = reports_dir(db)
    pages = {p.name for p in reports.glob("*.html")} - {"index.html"}
    assert len(pages) == summary.studies == WORLD.studies, "every study's page was written"
    assert "no room for this animal" in (reports / f"{victim.code}.html").read_text()
    out = io.StringIO()
    print_sync_summary(Console(file=out, width=200), summary, tables=False)
    lines = [line for line in out.getvalue().splitlines() if "figure not drawn" in line]
    assert lines == [
        f"figure not drawn study {victim.id}, spider: ValueError: no room for this animal "
        "(its page says so; the next sync tries again)"
    ]
