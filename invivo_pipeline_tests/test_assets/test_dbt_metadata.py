"""Row counts and column types for dbt's tables, read in two queries from a real DuckDB file."""

from __future__ import annotations

import dagster as dg
import duckdb

from invivo_pipeline.assets.dbt_metadata import relation_stats, with_table_metadata


def _warehouse(path):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute('create table marts."odd ""name""" (a integer, b varchar)')
        con.execute('insert into marts."odd ""name""" values (1, \'x\'), (2, \'y\')')
        con.execute("create table marts.empty (when_ date)")


def test_counts_and_columns_of_the_tables_that_exist(tmp_path):
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    with duckdb.connect(str(db), read_only=True) as con:
        stats = relation_stats(
            con, [("marts", 'odd "name"'), ("marts", "empty"), ("marts", "missing")]
        )
    assert stats == {
        ("marts", 'odd "name"'): (2, [("a", "INTEGER"), ("b", "VARCHAR")]),
        ("marts", "empty"): (0, [("when_", "DATE")]),
    }


def test_outputs_of_built_models_get_row_count_and_documented_columns(tmp_path):
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    manifest = {
        "nodes": {
            "model.p.empty": {
                "resource_type": "model",
                "schema": "marts",
                "name": "empty",
                "columns": {"when_": {"description": "The day."}},
            },
            "test.p.t": {"resource_type": "test", "schema": "marts", "name": "t"},
        }
    }
    events = [
        dg.Output(None, "marts__empty", metadata={"unique_id": "model.p.empty"}),
        dg.AssetCheckResult(passed=True, asset_key="x", check_name="t"),
        dg.Output(None, "other", metadata={"unique_id": "model.p.gone"}),
    ]
    out = list(with_table_metadata(iter(events), db, manifest, busy_timeout=1))
    assert out[0].metadata["dagster/row_count"].value == 0
    (column,) = out[0].metadata["dagster/column_schema"].value.columns
    assert (column.name, column.type, column.description) == ("when_", "DATE", "The day.")
    assert out[1] is events[1] and out[2] is events[2]
