"""One real ``invivo sync`` of both sources (ingestion, dbt build and checks, plots and reports) into a temporary
warehouse and Dagster instance, shared by every test that reads what a sync leaves behind.

Built at most once per test session, and only if a test asks for it (the ``materialized``
fixture in ``conftest.py``): a build costs about half a minute on two cores.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from invivo_pipeline.sources.cytobank.simulator.server import CytobankSimulatorServer
from invivo_pipeline.sources.cytobank.simulator.settings import DEMO_PASSWORD, DEMO_USERNAME
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)

ROOT = Path(__file__).resolve().parents[2]
# The default world's five kinds of study (two oncology studies with data, a tox study, a draft, a
# canceled one), with fewer animals and days than the demo.
WORLD = WorldConfig(seed=7, studies=5, animals_per_study=25, days=14)


@dataclass(frozen=True)
class Materialized:
    db: Path
    reports: Path
    dagster_home: Path
    stdout: str
    cytobank_counts: dict[str, int]
    """Rows per ``cytobank_raw`` table in the Cytobank simulator's world."""

    @contextmanager
    def instance(self) -> Iterator[dg.DagsterInstance]:
        with dg.DagsterInstance.from_config(str(self.dagster_home)) as instance:
            yield instance

    def latest_metadata(self, key: dg.AssetKey) -> dict[str, dg.MetadataValue]:
        with self.instance() as instance:
            event = instance.get_latest_materialization_event(key)
            assert event is not None and event.asset_materialization is not None, key
            return dict(event.asset_materialization.metadata)


def sync_into(
    db: Path, world: WorldConfig, *, cytobank: bool, dagster_home: Path | None = None
) -> tuple[str, dict[str, int]]:
    """``python -m invivo_pipeline sync`` into ``db`` against the simulators, as a user runs it:
    its stdout, and the Cytobank world's row counts (empty when ``cytobank`` is off)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INVIVO_", "DAGSTER_", "CYTOBANK_"))
    }
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(SimulatorServer(world))
        env |= {
            "INVIVO_BASE_URL": server.base_url,
            "INVIVO_CLIENT_ID": DEMO_CLIENT_ID,
            "INVIVO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
            "INVIVO_DUCKDB_PATH": str(db),
            "COLUMNS": "200",
        }
        if dagster_home is not None:
            env["DAGSTER_HOME"] = str(dagster_home)
        flow = None
        if cytobank:
            flow = stack.enter_context(CytobankSimulatorServer(world=server.world))
            env |= {
                "CYTOBANK_BASE_URL": flow.api_root,
                "CYTOBANK_USERNAME": DEMO_USERNAME,
                "CYTOBANK_PASSWORD": DEMO_PASSWORD,
            }
        result = subprocess.run(
            [sys.executable, "-m", "invivo_pipeline", "sync", "--quiet"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        if flow is None:
            return result.stdout, {}
        # The client keeps under the documented limit, so the server never had to refuse.
        assert flow.stats()["by_status"].get(429, 0) == 0
        return result.stdout, flow.world.counts()


def materialize(root: Path) -> Materialized:
    db = root / "warehouse" / "invivo.duckdb"
    home = root / "dagster_home"
    home.mkdir(parents=True)
    # No daemon runs here, so no schedule or sensor can launch a run behind a test's back.
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    stdout, counts = sync_into(db, WORLD, cytobank=True, dagster_home=home)
    return Materialized(
        db=db,
        reports=db.parent / "reports",
        dagster_home=home,
        stdout=stdout,
        cytobank_counts=counts,
    )
