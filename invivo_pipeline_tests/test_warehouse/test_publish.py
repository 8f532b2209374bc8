"""The read copy: every table of the warehouse row for row, renamed into place under the
writer lock, skipped when nothing changed, and never in the way of a reader of the old one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from invivo_pipeline.warehouse import WarehouseLockedError, writer_lock
from invivo_pipeline.warehouse.duckdb_file import open_writer
from invivo_pipeline.warehouse.publish import (
    publish,
    published_path,
    publishing_prefix,
)
from invivo_pipeline_tests.support.reports import copy_of

COUNT_IN_ANOTHER_PROCESS = """
import sys, duckdb
with duckdb.connect(sys.argv[1], read_only=True) as con:
    print(con.execute(sys.argv[2]).fetchall()[0][0])
"""


@pytest.fixture
def warehouse(materialized, tmp_path) -> Path:
    """The synced warehouse's file, copied: these tests change it and publish it."""
    return copy_of(materialized.db, tmp_path / "warehouse")


def _count_elsewhere(db: Path, query: str) -> int:
    """A fresh reader in another process (this one caches open DuckDB files by path)."""
    done = subprocess.run(
        [sys.executable, "-c", COUNT_IN_ANOTHER_PROCESS, str(db), query],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_the_read_copy_holds_every_table_of_the_warehouse_row_for_row(warehouse):
    done = publish(warehouse, lock_timeout=5)
    assert done.changed and done.path == warehouse.with_name("invivo.read.duckdb")
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{warehouse}' AS w (READ_ONLY)")
        con.execute(f"ATTACH '{done.path}' AS r (READ_ONLY)")
        tables = {
            db: set(
                con.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_catalog = ?",
                    [db],
                ).fetchall()
            )
            for db in ("w", "r")
        }
        assert {s for s, _ in tables["w"]} >= {"invivo_raw", "cytobank_raw", "staging", "marts"}
        assert tables["r"] == tables["w"] | {("publication", "info")}
        assert done.tables == len(tables["w"])
        for schema, table in tables["w"]:
            name = f'"{schema}"."{table}"'
            for a, b in (("w", "r"), ("r", "w")):
                differing = con.execute(
                    f"select count(*) from (from {a}.{name} except all from {b}.{name})"
                ).fetchall()
                assert differing == [(0,)], f"{name}: rows in {a} but not in {b}"
        (published_at,) = con.execute("select published_at from r.publication.info").fetchall()[0]
        assert published_at is not None
    finally:
        con.close()
    assert not list(warehouse.parent.glob(publishing_prefix(warehouse) + "*"))
    assert not done.path.with_name(done.path.name + ".wal").exists()  # the file alone is whole


def test_an_unchanged_warehouse_is_not_published_again_and_a_changed_one_is(warehouse):
    first = publish(warehouse, lock_timeout=5)
    assert first.changed
    again = publish(warehouse, lock_timeout=5)
    assert not again.changed and again.tables == 0
    with open_writer(warehouse, lock_timeout=5) as con:
        con.execute("delete from marts.rpt_study_overview")
    assert _count_elsewhere(first.path, "select count(*) from marts.rpt_study_overview") > 0
    after = publish(warehouse, lock_timeout=5)
    assert after.changed
    assert _count_elsewhere(first.path, "select count(*) from marts.rpt_study_overview") == 0


def test_a_reader_of_the_old_copy_keeps_reading_it_while_the_next_is_published(warehouse):
    publish(warehouse, lock_timeout=5)
    path = published_path(warehouse)
    holder = duckdb.connect(str(path), read_only=True)
    try:
        before = holder.execute("select count(*) from invivo_raw.measurements").fetchall()
        with open_writer(warehouse, lock_timeout=5) as con:
            con.execute("delete from invivo_raw.measurements where random() < 0.5")
        assert publish(warehouse, lock_timeout=5).changed
        # The holder still reads the file it opened, whole; a new reader gets the new one.
        assert holder.execute("select count(*) from invivo_raw.measurements").fetchall() == before
        now = _count_elsewhere(path, "select count(*) from invivo_raw.measurements")
        assert 0 < now < before[0][0]
    finally:
        holder.close()


def test_a_publication_queues_behind_a_writer_and_leaves_nothing_when_it_cannot_get_in(warehouse):
    with writer_lock(warehouse), pytest.raises(WarehouseLockedError):
        publish(warehouse, lock_timeout=0.2)
    assert not published_path(warehouse).exists()
    assert not list(warehouse.parent.glob(publishing_prefix(warehouse) + "*"))


def test_a_publication_a_kill_abandoned_is_cleared_by_the_next(warehouse):
    leftover = warehouse.parent / (publishing_prefix(warehouse) + "killed")
    leftover.mkdir()
    (leftover / "invivo.read.duckdb").write_bytes(b"half a file")
    publish(warehouse, lock_timeout=5)
    assert not leftover.exists()


def test_a_write_left_in_the_log_by_a_writer_that_did_not_checkpoint_is_published(warehouse):
    con = duckdb.connect(str(warehouse))
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute("SET wal_autocheckpoint = '1TB'")
    con.execute("delete from marts.rpt_study_overview")
    con.close()
    assert warehouse.with_name(warehouse.name + ".wal").exists()
    done = publish(warehouse, lock_timeout=5)
    assert _count_elsewhere(done.path, "select count(*) from marts.rpt_study_overview") == 0
    assert not done.path.with_name(done.path.name + ".wal").exists()
