"""The writer's DuckDB memory limit: on by default, set from the environment, checked."""

from __future__ import annotations

import pytest

from invivo_pipeline.warehouse import Warehouse, WarehouseError
from invivo_pipeline.warehouse.duckdb_file import MEMORY_LIMIT_ENV, open_writer
from invivo_pipeline_tests.test_warehouse.helpers import measurements


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
        Warehouse(db_path).load("measurements", [measurements("sdy_1", 3)], study_id="sdy_1")
    assert not db_path.exists() or Warehouse(db_path).row_counts()["measurements"] == 0
