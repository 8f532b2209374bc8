"""The seam between the generic core and its sources: a third source that lives only in
``invivo_pipeline_tests/support/toy_source`` is registered with one line and loaded by the same
raw-tables step, checks and warehouse code as In Vivo and Cytobank, against its stub API on
loopback, into a real DuckDB file."""

from __future__ import annotations

import dagster as dg
import duckdb

from invivo_pipeline.definitions import definitions_for
from invivo_pipeline.sources.registry import SOURCES
from invivo_pipeline_tests.support.toy_source.server import ToyServer
from invivo_pipeline_tests.support.toy_source.source import GAUGES, toy_source


def test_a_third_source_registered_in_one_line_loads_through_the_shared_step(tmp_path, monkeypatch):
    db = tmp_path / "toy.duckdb"
    monkeypatch.setenv("INVIVO_DUCKDB_PATH", str(db))
    with ToyServer() as server:
        defs = definitions_for((*SOURCES, toy_source(server.base_url)))  # the one registry line
        graph = defs.resolve_asset_graph()
        toy_keys = [k for k in graph.get_all_asset_keys() if k.path[0] == "toy_raw"]
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(GAUGES.name, ["g1", "g2"])
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            asset_selection=toy_keys,
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "g1",
                "dagster/asset_partition_range_end": "g2",
            },
        )
    assert result.success
    assert {tuple(k.path) for k in toy_keys} == {("toy_raw", "gauges"), ("toy_raw", "readings")}
    con = duckdb.connect(str(db), read_only=True)
    try:
        gauges = con.execute("SELECT id, name FROM toy_raw.gauges ORDER BY id").fetchall()
        readings = con.execute(
            "SELECT gauge_id, id, value FROM toy_raw.readings ORDER BY id"
        ).fetchall()
        rejected = con.execute(
            "SELECT table_name, partition_key, record_id FROM toy_raw._rejected"
        ).fetchall()
        schemas = {
            r[0]
            for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()
        }
    finally:
        con.close()
    assert gauges == [("g1", "north"), ("g2", "south")]
    assert readings == [("g1", "r1", 1.5), ("g1", "r2", 2.5), ("g2", "r3", 7.0)]
    assert rejected == [("readings", "g2", "r4")]  # set aside, not a failed run
    assert {"toy_raw", "invivo_raw", "cytobank_raw"} <= schemas  # every registered source's tables
    checks = {
        (c.asset_key.path[-1], c.check_name, c.passed) for c in result.get_asset_check_evaluations()
    }
    assert checks == {
        ("gauges", "primary_key_unique", True),
        ("gauges", "no_rejected_records", True),
        ("readings", "primary_key_unique", True),
        ("readings", "gauge_id_references_gauges", True),
        ("readings", "no_rejected_records", False),  # WARN: the one record set aside
    }
