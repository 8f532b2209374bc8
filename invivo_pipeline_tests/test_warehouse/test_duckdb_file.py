"""The writer's DuckDB memory limit and threads: set by default, from the environment, checked."""

from __future__ import annotations

import pytest

from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import Warehouse, WarehouseError
from invivo_pipeline.warehouse.duckdb_file import MEMORY_LIMIT_ENV, THREADS_ENV, open_writer
from invivo_pipeline_tests.support.warehouse import measurements


def _limit(db_path) -> str:
    with open_writer(db_path) as con:
        return con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]


def test_a_writer_is_limited_to_64mb_unless_told_otherwise(db_path, monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    assert _limit(db_path).replace(" ", "") in ("61.0MiB", "64.0MiB")
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1GB")
    assert _limit(db_path).replace(" ", "") in ("953.6MiB", "1.0GiB")


def test_a_bad_limit_fails_in_one_line_before_anything_is_written(db_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots'; DROP")
    with pytest.raises(WarehouseError, match=f"^{MEMORY_LIMIT_ENV}=.* is not a size"):
        Warehouse(db_path, resources=RESOURCES).load(
            "measurements", [measurements("sdy_1", 3)], partition_key="sdy_1"
        )
    assert (
        not db_path.exists()
        or Warehouse(db_path, resources=RESOURCES).row_counts()["measurements"] == 0
    )


def _threads(db_path) -> int:
    with open_writer(db_path) as con:
        return int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])


def test_a_writer_runs_one_duckdb_thread_unless_told_otherwise(db_path, monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert _threads(db_path) == 1
    monkeypatch.setenv(THREADS_ENV, "2")
    assert _threads(db_path) == 2


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_thread_count_fails_in_one_line(db_path, monkeypatch, value):
    monkeypatch.setenv(THREADS_ENV, value)
    with pytest.raises(WarehouseError, match=f"^{THREADS_ENV}=.* is not a whole number"):
        Warehouse(db_path, resources=RESOURCES).load(
            "measurements", [measurements("sdy_1", 3)], partition_key="sdy_1"
        )
