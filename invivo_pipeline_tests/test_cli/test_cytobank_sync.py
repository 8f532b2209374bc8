"""With only In Vivo configured, nothing about Cytobank runs or fails."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from invivo_pipeline.assets.warehouse_resource import WarehouseResource
from invivo_pipeline.cli.cytobank_sync import sync_cytobank
from invivo_pipeline.sources.cytobank.table import CYTOBANK_RESOURCES
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import Warehouse
from invivo_pipeline_tests.support.warehouse import measurements


def test_cytobank_is_skipped_when_its_base_url_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CYTOBANK_BASE_URL", raising=False)
    monkeypatch.setenv("CYTOBANK_USERNAME", "someone")  # a stray variable does not switch it on
    inst = dg.DagsterInstance.ephemeral()
    wh = Warehouse(tmp_path / "w.duckdb", resources=RESOURCES)

    def fail(_: object) -> str:
        raise AssertionError("no Cytobank run may be launched")

    assert sync_cytobank(inst, wh, fail) is None
    assert inst.get_runs() == []
    assert inst.get_dynamic_partitions("cytobank_experiment") == []


def test_an_invivo_load_creates_the_cytobank_tables_empty(tmp_path: Path) -> None:
    """The In Vivo load opens the warehouse as the code location does (its resource, which
    ensures every registered source's tables), and never names Cytobank itself."""
    path = tmp_path / "w.duckdb"
    WarehouseResource(path=str(path)).warehouse(RESOURCES).load(
        "measurements", [measurements("sdy_1", 2)], partition_key="sdy_1"
    )
    counts = Warehouse(path, resources=CYTOBANK_RESOURCES).row_counts()
    assert counts == dict.fromkeys((r.name for r in CYTOBANK_RESOURCES), 0)
    with Warehouse(path, resources=RESOURCES).reader() as con:
        tables = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'cytobank_raw'"
        ).fetchone()
    # plus _schema_migrations, _load_state and _rejected
    assert tables == (len(CYTOBANK_RESOURCES) + 3,)
