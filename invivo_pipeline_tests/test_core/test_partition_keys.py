"""Which ids can be partition keys, and ranges read off the registered order (pure)."""

from __future__ import annotations

import pytest

from invivo_pipeline.core.partition_keys import (
    partition_key_problem,
    ranges_in_registered_order,
    tail_order,
    usable_keys,
)


@pytest.mark.parametrize("value", ["sdy_1", " padded ", "a,b", "a..b", "é-ß", "x" * 255, "0"])
def test_ids_dagster_and_the_api_routes_take_are_usable(value):
    assert partition_key_problem(value) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        (None, "is a NoneType, not a string"),
        (0, "is a int, not a string"),
        ("x" * 256, "is 256 characters long"),
        ("a\nb", "control character"),
        ("a\x00b", "control character"),
        ("../../fake/0", "slash"),
        ("a...b", "'...'"),
    ],
)
def test_ids_that_cannot_be_keys_say_why(value, reason):
    assert reason in partition_key_problem(value)


def test_usable_keys_keep_order_drop_duplicates_and_name_each_refused_id_on_one_line():
    kept, refused = usable_keys(["s2", "", "s1", "s2", "a\nb", "x" * 500])

    assert kept == ["s2", "s1"]
    assert refused[0] == "study id '' skipped: it is empty"
    assert all("\n" not in line and len(line) < 140 for line in refused)
    assert "'a\\nb'" in refused[1]


def test_ranges_are_read_off_the_registered_order_and_cover_exactly_the_wanted_keys():
    registered = ["s2", "s3", "s1", "s5", "s4"]

    assert ranges_in_registered_order(["s1", "s2", "s3"], registered) == [("s2", "s1")]
    assert ranges_in_registered_order(["s2", "s1", "s4"], registered) == [
        ("s2", "s2"),
        ("s1", "s1"),
        ("s4", "s4"),
    ]
    assert ranges_in_registered_order(["s9"], registered) == []


def test_scattered_keys_move_to_the_end_unless_a_queued_run_pins_them():
    registered = ["a", "b", "c", "d", "e"]

    assert tail_order(["b", "c"], registered) == ([], registered)
    moved, order = tail_order(["a", "c", "e"], registered)
    assert moved == ["a", "c", "e"] and order == ["b", "d", "a", "c", "e"]
    moved, order = tail_order(["a", "c", "e"], registered, pinned=["c"])
    assert moved == ["a", "e"] and order == ["b", "c", "d", "a", "e"]
    assert ranges_in_registered_order(["a", "c", "e"], order) == [("c", "c"), ("a", "e")]
