"""``in_study_batches``: the Python models' inputs a few studies at a time, every study once, in
order, within the running build's scope."""

from __future__ import annotations

import duckdb
import pytest

from invivo_pipeline.marts.scope import SCHEMA, SCOPE_TABLE, in_study_batches


@pytest.fixture
def con():
    with duckdb.connect() as con:
        con.execute(f"create schema {SCHEMA}")
        con.execute("create table days (study_id varchar, v int)")
        con.execute(
            "insert into days values ('s3', 1), ('s1', 2), ('s2', 3), ('s1', 4), ('s5', 5), "
            "(null, 6)"
        )
        yield con


def _batches(con, *args, **kwargs):
    relation = con.table("days")
    return [
        (ids, sorted(r[:2] for r in rows.fetchall()))
        for ids, rows in in_study_batches(relation, con, *args, **kwargs)
    ]


def test_every_study_once_in_order_a_batch_at_a_time(con):
    assert _batches(con, size=2) == [
        (["s1", "s2"], [("s1", 2), ("s1", 4), ("s2", 3)]),
        (["s3", "s5"], [("s3", 1), ("s5", 5)]),
    ]


def test_given_studies_are_batched_whether_or_not_they_have_rows(con):
    assert _batches(con, ["s9", "s2", "s1"], size=2) == [
        (["s1", "s2"], [("s1", 2), ("s1", 4), ("s2", 3)]),
        (["s9"], []),
    ]


def test_no_study_is_one_empty_batch(con):
    assert _batches(con, []) == [([], [])]


def test_only_the_studies_of_the_running_build(con):
    con.execute(f"create table {SCHEMA}.{SCOPE_TABLE} (study_id varchar)")
    con.execute(f"insert into {SCHEMA}.{SCOPE_TABLE} values ('s5'), ('s2')")
    assert _batches(con, size=1) == [(["s2"], [("s2", 3)]), (["s5"], [("s5", 5)])]
