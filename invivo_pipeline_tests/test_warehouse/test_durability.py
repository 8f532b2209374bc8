"""A load killed inside its transaction leaves the file exactly as it was (DuckDB's WAL)."""

from __future__ import annotations

import signal

from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import TableLoad, Warehouse
from invivo_pipeline_tests.support.warehouse import animals, measurements

BIG = 200_000
"""More than one DuckDB row group (122,880 rows): the big insert is written to the file before
COMMIT, so the test also covers blocks that exist on disk but were never committed."""


def test_a_load_killed_mid_transaction_leaves_the_previous_state(db_path, workers):
    wh = Warehouse(db_path, resources=RESOURCES)
    wh.load_many(
        [
            TableLoad("measurements", [measurements("sdy_A", 50)], "sdy_A"),
            TableLoad("animals", [animals("sdy_A", 10)], "sdy_A"),
        ]
    )
    wh.load("measurements", [measurements("sdy_B", 20)], partition_key="sdy_B")
    before = {t: wh.fetch_table(t) for t in ("measurements", "animals")}
    size_before = db_path.stat().st_size

    marker = db_path.parent / "inside-transaction"
    proc = workers.start("load-and-hang", str(db_path), str(marker), str(BIG))
    workers.wait_for(marker, proc)
    # Both tables were deleted and re-inserted, nothing committed yet: kill it there.
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    size_during = int(marker.read_text())

    after = {t: wh.fetch_table(t) for t in ("measurements", "animals")}
    assert after == before
    assert wh.row_counts()["measurements"] == 70
    # The uncommitted rows had reached the file (DuckDB writes big inserts before COMMIT).
    assert size_during > size_before

    # The file is healthy: the next load works and sees the previous state.
    result = wh.load("animals", [animals("sdy_A", 4)], partition_key="sdy_A")
    assert (result.rows_deleted, result.rows_written) == (10, 4)
