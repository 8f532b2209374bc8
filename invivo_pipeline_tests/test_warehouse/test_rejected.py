"""Records set aside go to ``invivo_raw._rejected`` in the load's own transaction, are replaced with
their partition, keep when they were first seen, and clear once the source fixes them."""

from __future__ import annotations

import orjson
import pytest

from invivo_pipeline.core.batches import Batch as ClientBatch
from invivo_pipeline.core.rejects import Reject
from invivo_pipeline.warehouse import TableLoad, WarehouseLoadError
from invivo_pipeline_tests.support.warehouse import Batch, animals, measurements, species


def _rejected(wh) -> list[dict]:
    with wh.reader() as con:
        cursor = con.execute("SELECT * FROM invivo_raw._rejected ORDER BY table_name, record_id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _bad_measurements(study: str, n: int, bad: int) -> Batch:
    batch = measurements(study, n)
    batch.records[bad]["measured_at"] = "2024-02-30"
    return batch


def test_a_bad_value_is_quarantined_with_its_bytes_reason_and_run(wh):
    batch = _bad_measurements("sdy_A", 4, bad=2)
    sent = orjson.dumps(batch.records[2])

    with wh.session("run-1") as session:
        [result] = session.load_many([TableLoad("measurements", [batch], "sdy_A")])

    assert (result.rows_written, result.rejected) == (3, 1)
    [row] = _rejected(wh)
    assert row["table_name"] == "measurements" and row["partition_key"] == "sdy_A"
    assert row["record_id"] == "mst_sdy_A_2" and row["run_id"] == "run-1"
    assert row["record"].encode() == sent
    assert row["reason"] == "measured_at: cannot read '2024-02-30' as DATE"
    assert row["first_seen"] == row["last_seen"] == result.loaded_at


def test_rejects_handed_over_by_the_api_client_are_stored_as_sent(wh):
    sent = b'{"id": "spc_bad",  "name": 12}'  # spacing and all
    page = ClientBatch(
        "species",
        {},
        raw=[orjson.dumps(r) for r in species(["mouse"]).records],
        rejects=[Reject(sent, "name: Input should be a valid string (got 12)", "spc_bad")],
    )

    result = wh.load("species", [page])

    assert (result.rows_written, result.rejected) == (1, 1)
    [row] = _rejected(wh)
    assert row["partition_key"] is None  # a global table
    assert row["record"].encode() == sent and row["record_id"] == "spc_bad"


def test_rejects_are_in_the_runs_transaction(wh):
    wh.load("measurements", [_bad_measurements("sdy_A", 3, bad=0)], partition_key="sdy_A")
    before = (_rejected(wh), wh.fetch_table("measurements"))

    with pytest.raises(WarehouseLoadError), wh.session() as session:
        session.load_many([TableLoad("measurements", [measurements("sdy_A", 3)], "sdy_A")])
        session.load_many([TableLoad("measurements", [_bad_measurements("sdy_B", 2, 1)], "sdy_B")])
        stray = Batch("animals", {"study_id": "sdy_X"}, animals("sdy_X", 1).records)
        session.load_many([TableLoad("animals", [stray], "sdy_C")])  # fails the run

    assert (_rejected(wh), wh.fetch_table("measurements")) == before


def test_a_record_rejected_again_keeps_first_seen_and_a_fixed_one_clears(wh):
    first = wh.load("measurements", [_bad_measurements("sdy_A", 3, bad=1)], partition_key="sdy_A")
    wh.load("measurements", [_bad_measurements("sdy_B", 3, bad=0)], partition_key="sdy_B")

    again = wh.load("measurements", [_bad_measurements("sdy_A", 3, bad=1)], partition_key="sdy_A")
    assert again.unchanged and again.rejected == 1  # the rows did not change; the reject stays
    rows = {r["partition_key"]: r for r in _rejected(wh)}
    assert rows["sdy_A"]["first_seen"] == first.loaded_at
    assert rows["sdy_A"]["last_seen"] == again.loaded_at > first.loaded_at

    fixed = wh.load("measurements", [measurements("sdy_A", 3)], partition_key="sdy_A")
    assert fixed.rejected == 0 and fixed.rows_written == 3
    assert [r["partition_key"] for r in _rejected(wh)] == ["sdy_B"]  # only sdy_A's cleared


def test_a_study_no_longer_listed_takes_its_rejects_with_it(wh):
    wh.load("measurements", [_bad_measurements("sdy_A", 2, bad=0)], partition_key="sdy_A")
    wh.load("measurements", [_bad_measurements("sdy_B", 2, bad=0)], partition_key="sdy_B")
    wh.load("species", [Batch("species", {}, [{"id": "spc_1", "active": "perhaps"}])])

    with wh.session() as session:
        session.purge_partitions_except(["sdy_B"])

    assert [(r["table_name"], r["partition_key"]) for r in _rejected(wh)] == [
        ("measurements", "sdy_B"),
        ("species", None),  # a global table's rejects go when the table is reloaded
    ]
