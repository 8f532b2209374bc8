"""A run streams pages into partitions and writes finished studies together, in one transaction:
the warehouse ends up equal to the API, each study is reported once, and a re-run rewrites
nothing."""

from __future__ import annotations

import gc

from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.sources.invivo.ingest import GLOBAL_NAMES, STUDY_NAMES, ingest
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import Warehouse
from invivo_pipeline_tests.support.cli import assert_matches_world, table_snapshot


def _ingest(server: SimulatorServer, db, **options):
    reported: list[tuple[str | None, list[str]]] = []

    async def go():
        config = ClientConfig(server.base_url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        study_ids = [r.body["id"] for r in server.world.records("studies")]
        async with InVivoClient(config) as client:
            with Warehouse(db, resources=RESOURCES).session() as session:
                return await ingest(
                    client,
                    session,
                    global_names=GLOBAL_NAMES,
                    study_ids=study_ids,
                    study_names=STUDY_NAMES,
                    on_partition=lambda s, results: reported.append(
                        (s, [r.table for r in results])
                    ),
                    **options,
                )

    return run_sync(go()), reported


def test_studies_written_in_small_groups_equal_the_api_and_a_rerun_rewrites_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    threshold = gc.get_threshold()
    with SimulatorServer(WorldConfig(seed=31, studies=5, animals_per_study=6, days=6)) as server:
        # A flush every few hundred rows: several groups of studies, each written together.
        run, reported = _ingest(server, db, flush_rows=300, studies_in_flight=2)
        assert_matches_world(db, server)
        studies = [s for s, _ in reported if s is not None]
        assert sorted(studies) == sorted(r.body["id"] for r in server.world.records("studies"))
        assert all(tables == list(STUDY_NAMES) for s, tables in reported if s is not None)
        assert [tables for s, tables in reported if s is None] == [list(GLOBAL_NAMES)]
        assert sum(r.rows_written for r in run.loads) == sum(
            len(server.world.records(n)) for n in (*GLOBAL_NAMES, *STUDY_NAMES)
        )
        before = table_snapshot(db)

        again, _ = _ingest(server, db, flush_rows=10_000)
        assert all(r.unchanged for r in again.loads)
        assert table_snapshot(db) == before
    assert gc.get_threshold() == threshold and gc.get_freeze_count() == 0
