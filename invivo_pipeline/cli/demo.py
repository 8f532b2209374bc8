"""``invivo demo``: the whole pipeline against the bundled simulator, into a fresh DuckDB file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rich.console import Console

from invivo_pipeline.cli.reporting import print_sync_summary, sync_with_progress
from invivo_pipeline.simulator.cytobank.server import CytobankSimulatorServer
from invivo_pipeline.simulator.cytobank.settings import DEMO_PASSWORD, DEMO_USERNAME
from invivo_pipeline.simulator.server import SimulatorServer
from invivo_pipeline.simulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from invivo_pipeline.simulator.world import WorldConfig


def run_demo(
    console: Console, *, data_dir: Path, studies: int, animals_per_study: int, quiet: bool
) -> None:
    data_dir = data_dir.absolute()
    database = data_dir / "invivo.duckdb"
    dagster_home = data_dir / "dagster_home"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    dagster_home.mkdir(parents=True)
    world = WorldConfig(studies=studies, animals_per_study=animals_per_study)
    with (
        SimulatorServer(world) as server,
        CytobankSimulatorServer(world=server.world) as cytobank,
    ):
        console.print(f"simulator serving a synthetic tenant at {server.base_url}", highlight=False)
        console.print(
            f"Cytobank simulator serving the same studies' flow data at {cytobank.api_root}",
            highlight=False,
        )
        # The pipeline reads its configuration from the environment, as it does in production.
        os.environ.update(
            {
                "INVIVO_BASE_URL": server.base_url,
                "INVIVO_CLIENT_ID": DEMO_CLIENT_ID,
                "INVIVO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
                "INVIVO_DUCKDB_PATH": str(database),
                "DAGSTER_HOME": str(dagster_home),
                "CYTOBANK_BASE_URL": cytobank.api_root,
                "CYTOBANK_USERNAME": DEMO_USERNAME,
                "CYTOBANK_PASSWORD": DEMO_PASSWORD,
            }
        )
        summary = sync_with_progress(console, quiet=quiet)
    print_sync_summary(console, summary)
    rows = summary.rows
    if summary.cytobank is not None:
        flow = summary.cytobank
        console.print(
            f"Cytobank: {flow.experiments} experiments, {flow.rows['fcs_files']} FCS files, "
            f"{flow.rows['statistics']} population statistics in {flow.requests} requests "
            f"(minimum {flow.minimum_requests}); links in marts.fct_flow_sample.",
            highlight=False,
        )
    console.print(
        f"\n[bold]Loaded[/] {rows['studies']} studies, {rows['animals']:,} animals, "
        f"{rows['measurements']:,} measurements, {rows['dosages']:,} dosages.\n"
        "[bold]Next:[/]\n"
        f"  query it:   python -c \"import duckdb; print(duckdb.connect('{database}', read_only=True)"
        ".sql('select status, count(*) from invivo_raw.studies group by 1'))\"\n"
        "  the UI:     invivo simulator &   # then, in this directory:\n"
        f"              DAGSTER_HOME={dagster_home} INVIVO_BASE_URL=http://127.0.0.1:8000 "
        f"INVIVO_CLIENT_ID={DEMO_CLIENT_ID} INVIVO_CLIENT_SECRET={DEMO_CLIENT_SECRET} "
        f"INVIVO_DUCKDB_PATH={database} dagster dev",
        highlight=False,
        soft_wrap=True,
    )
