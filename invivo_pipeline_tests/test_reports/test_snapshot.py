"""The reports' snapshot: a copy of exactly what they read, taken under the writer lock and then
let go, so a writer gets in while they draw; gone afterwards, whatever happened."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from invivo_pipeline.reports import build
from invivo_pipeline.reports.data import TABLES_READ
from invivo_pipeline.reports.flow_tables import FLOW_MARTS_READ, flow_tables
from invivo_pipeline.reports.snapshot import report_snapshot, snapshot_prefix
from invivo_pipeline.warehouse import WarehouseLockedError, writer_lock
from invivo_pipeline.warehouse.duckdb_file import open_reader
from invivo_pipeline_tests.support.reports import (
    copy_of,
    pages_in,
    write_from_another_process,
)

REPORTS_PACKAGE = Path(build.__file__).parent
FLOW = {("marts", name) for name in FLOW_MARTS_READ}


@pytest.fixture
def warehouse(materialized, tmp_path) -> Path:
    """The synced warehouse's file, copied: these tests change it and hold its lock."""
    return copy_of(materialized.db, tmp_path / "warehouse")


def _tables(db: Path) -> set[tuple[str, str]]:
    with open_reader(db) as con:
        rows = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
    return set(rows)


def _same_rows(warehouse: Path, snapshot: Path, schema: str, table: str) -> None:
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{warehouse}' AS w (READ_ONLY)")
        con.execute(f"ATTACH '{snapshot}' AS s (READ_ONLY)")
        name = f"{schema}.{table}"
        columns = {
            db: con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = ? and table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [db, schema, table],
            ).fetchall()
            for db in ("w", "s")
        }
        assert columns["s"] == columns["w"], name
        counts = con.execute(
            f"select (from w.{name} select count(*)), (from s.{name} select count(*))"
        )
        n_w, n_s = counts.fetchall()[0]
        assert n_s == n_w, name
        for a, b in (("w", "s"), ("s", "w")):
            differing = con.execute(
                f"select count(*) from (from {a}.{name} except all from {b}.{name})"
            ).fetchall()
            assert differing == [(0,)], f"{name}: rows in {a} but not in {b}"
    finally:
        con.close()


def _snapshot_dirs(db: Path) -> list[Path]:
    return sorted(db.parent.glob(snapshot_prefix(db) + "*"))


def test_the_snapshot_holds_every_table_the_reports_read_row_for_row(warehouse):
    assert set(TABLES_READ) <= _tables(warehouse), "the sync built every table the reports read"
    with report_snapshot(warehouse, lock_timeout=5) as snapshot:
        assert _tables(snapshot) == set(TABLES_READ)  # the same schema names, nothing else
        for schema, table in TABLES_READ:
            _same_rows(warehouse, snapshot, schema, table)
        with open_reader(warehouse) as con:
            assert con.execute("select count(*) from marts.fct_flow_sample").fetchall()[0][0] > 0


def test_every_table_a_report_queries_is_declared():
    """A query on a table missing from ``TABLES_READ`` would fail on the snapshot."""
    queried = {
        (schema, table)
        for source in REPORTS_PACKAGE.glob("*.py")
        for schema, table in re.findall(
            r"\b(marts|intermediate|staging)\.([a-z][a-z0-9_]*[a-z0-9])\b(?!\*)", source.read_text()
        )
    }
    assert queried >= {("marts", "rpt_km_curve"), ("marts", "fct_flow_sample")}
    assert queried <= set(TABLES_READ)


def test_a_table_the_warehouse_lacks_is_absent_from_the_snapshot_too(warehouse, tmp_path):
    """As before the flow marts were built: the reports meet the same missing table either way."""
    with duckdb.connect(str(warehouse)) as con:
        for _, table in FLOW:
            con.execute(f"drop table marts.{table}")
    with report_snapshot(warehouse, lock_timeout=5) as snapshot:
        assert _tables(snapshot) == set(TABLES_READ) - FLOW
        for db in (warehouse, snapshot):
            with (
                open_reader(db) as con,
                pytest.raises(duckdb.CatalogException, match="fct_flow_sample does not exist"),
            ):
                flow_tables(con, "sdy_any")
        # The figures read no flow mart: they are drawn from it all the same.
        drawn = build.write_reports(snapshot, tmp_path / "plots", pages=False)
    assert drawn.pages == {}


def test_pages_from_the_snapshot_are_the_pages_from_the_warehouse(warehouse, tmp_path):
    build.write_reports(warehouse, tmp_path / "direct")
    with report_snapshot(warehouse, lock_timeout=5) as snapshot:
        build.write_reports(snapshot, tmp_path / "snapshot")
    direct = pages_in(tmp_path / "direct")
    assert pages_in(tmp_path / "snapshot") == direct
    assert len(direct) >= 6 and any("Flow cytometry (Cytobank)" in p for p in direct.values())

    # With the Cytobank source off dbt builds the flow marts empty: no page has the section.
    with duckdb.connect(str(warehouse)) as con:
        for _, table in FLOW:
            con.execute(f"delete from marts.{table}")
    with report_snapshot(warehouse, lock_timeout=5) as snapshot:
        assert _tables(snapshot) == set(TABLES_READ)
        build.write_reports(snapshot, tmp_path / "no-flow")
    no_flow = pages_in(tmp_path / "no-flow")
    assert no_flow.keys() == direct.keys()
    assert not any("Flow cytometry" in p for p in no_flow.values())


def test_a_writer_gets_in_while_the_reports_draw(warehouse, tmp_path):
    """The lock and the file are let go once the copy is made: a sync's writer, in another
    process, gets both within 2 s while the figures are drawn, and what it changes does not reach
    the reports being drawn."""
    writes = []

    def on_plots(study, plots, files):
        if not writes:
            writes.append(
                write_from_another_process(warehouse, "delete from marts.rpt_study_overview")
            )

    with report_snapshot(warehouse, lock_timeout=5) as snapshot:
        written = build.write_reports(snapshot, tmp_path / "reports", on_plots=on_plots)
    assert writes[0].returncode == 0, writes[0].stderr
    assert len(written.pages) == 5  # read from the snapshot, not the changed warehouse
    with open_reader(warehouse) as con:
        assert con.execute("select count(*) from marts.rpt_study_overview").fetchall() == [(0,)]


def test_the_snapshot_is_deleted_after_use_and_after_an_error(warehouse):
    with report_snapshot(warehouse, lock_timeout=5) as snapshot:
        assert snapshot.is_file() and _snapshot_dirs(warehouse) == [snapshot.parent]
        assert snapshot.parent.parent == warehouse.parent  # beside the warehouse, on its disk
    assert not snapshot.exists() and _snapshot_dirs(warehouse) == []

    with (
        pytest.raises(RuntimeError, match="drawing failed"),
        report_snapshot(warehouse, lock_timeout=5) as snapshot,
    ):
        assert snapshot.is_file()
        raise RuntimeError("drawing failed")
    assert _snapshot_dirs(warehouse) == []

    # A writer holds the lock for longer than the reports wait: no copy is made, nothing is left.
    with (
        writer_lock(warehouse),
        pytest.raises(WarehouseLockedError),
        report_snapshot(warehouse, lock_timeout=0.2),
    ):
        pytest.fail("a snapshot without the lock")
    assert _snapshot_dirs(warehouse) == []
