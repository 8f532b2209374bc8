"""``invivo demo``: the whole pipeline against the bundled simulator, into a fresh DuckDB file."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

from rich.console import Console

from invivo_pipeline.cli.console_summary import (
    print_sync_summary,
    print_tgi_tables,
    sync_with_progress,
)
from invivo_pipeline.cli.instance import default_overrides
from invivo_pipeline.reports.build import read_studies
from invivo_pipeline.reports.files import reports_dir
from invivo_pipeline.sources.cytobank.simulator.server import CytobankSimulatorServer
from invivo_pipeline.sources.cytobank.simulator.settings import DEMO_PASSWORD, DEMO_USERNAME
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)
from invivo_pipeline.warehouse.publish import published_path


def run_demo(
    console: Console,
    *,
    data_dir: Path,
    studies: int,
    animals_per_study: int,
    quiet: bool,
    combination_studies: int = 1,
) -> None:
    data_dir = data_dir.absolute()
    database = data_dir / "invivo.duckdb"
    dagster_home = data_dir / "dagster_home"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    dagster_home.mkdir(parents=True)
    # An instance stored in this folder: saying so spares `dagster dev` a warning about it. As for
    # `invivo sync` (cli/instance.py), telemetry is off: the demo sends nothing, and Dagster's
    # first-run banner does not bury the demo's own output; and the event log is the deployed one.
    (dagster_home / "dagster.yaml").write_text(
        "# The demo's Dagster instance: the defaults, telemetry off, deploy/dagster.yaml's event log.\n"
        + json.dumps(default_overrides(dagster_home.resolve()), indent=2)  # JSON is YAML
    )
    world = WorldConfig(
        studies=studies,
        animals_per_study=animals_per_study,
        combination_studies=combination_studies,
    )
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
    print_sync_summary(console, summary, tables=False)
    rows = summary.rows
    console.print(
        f"\n[bold]Loaded[/] {summary.studies} studies, {rows['animals']:,} animals, "
        f"{rows['measurements']:,} measurements, {rows['dosages']:,} dosages "
        f"into {database}",
        highlight=False,
        soft_wrap=True,
    )
    print_tgi_tables(console, read_studies(database))
    print_next_steps(console, database=database, dagster_home=dagster_home)


def ui_command(env: str) -> str:
    """``dg dev`` from the project's checkout (its ``[tool.dg]``), where the package has one;
    an installed package has none, so ``dagster dev -m`` (which warns that ``dg dev`` supersedes
    it) is the one command that works there."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.dg]" in pyproject.read_text(encoding="utf-8"):
        return f"cd {shlex.quote(str(root))} && {env} dg dev"
    return f"{env} dagster dev -m invivo_pipeline.definitions"


def next_steps(*, database: Path, dagster_home: Path) -> list[tuple[str, str]]:
    """(what, exact command) for what to do after the demo, with this run's paths."""
    index = reports_dir(database) / "index.html"
    db = shlex.quote(str(database))
    query = (
        "select study_id, group_name, study_day, round(tgi_delta_pct, 1) as tgi_pct "
        "from marts.rpt_tgi_by_day where is_eval_day order by all"
    )
    return [
        ("the reports", f"open {index}   (one HTML page per study; xdg-open on Linux)"),
        (
            "the Dagster UI",
            f"{ui_command(f'DAGSTER_HOME={shlex.quote(str(dagster_home))} INVIVO_DUCKDB_PATH={db}')}"
            "   then open http://127.0.0.1:3000 "
            "(Assets → reports → tumour_growth_curves shows the plots)",
        ),
        (
            "query DuckDB",
            # The read copy: the warehouse itself may be held by a run of the Dagster UI.
            f'python -c "import duckdb; print(duckdb.connect({str(published_path(database))!r}, '
            "read_only=True)"
            f'.sql({query!r}))"',
        ),
        (
            "re-run from the UI",
            "start the simulator (invivo simulator &) and add INVIVO_BASE_URL=http://127.0.0.1:8000 "
            f"INVIVO_CLIENT_ID={DEMO_CLIENT_ID} INVIVO_CLIENT_SECRET={DEMO_CLIENT_SECRET} "
            "to that command",
        ),
    ]


def print_next_steps(console: Console, *, database: Path, dagster_home: Path) -> None:
    console.print("\n[bold]Next:[/]")
    for what, command in next_steps(database=database, dagster_home=dagster_home):
        console.print(f"  [bold]{what}[/]:\n    {command}", highlight=False, soft_wrap=True)
