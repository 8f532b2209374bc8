"""One writer at a time: pipeline writers queue, a foreign holder is a clear and bounded error."""

from __future__ import annotations

import threading
import time

import pytest

from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import Warehouse, WarehouseLockedError, writer_lock
from invivo_pipeline_tests.support.warehouse import species


def test_a_file_held_by_another_program_is_a_clear_error(db_path, workers):
    db_path.parent.mkdir(parents=True)
    ready = db_path.parent / "holding"
    holder = workers.start("hold", str(db_path), str(ready), "60")
    workers.wait_for(ready, holder)

    wh = Warehouse(db_path, lock_timeout=5, busy_timeout=1.0, resources=RESOURCES)
    started = time.monotonic()
    with pytest.raises(WarehouseLockedError) as err:
        wh.load("species", [species(["mouse"])])
    assert time.monotonic() - started < 4
    message = str(err.value)
    assert str(db_path) in message
    assert f"PID {holder.pid}" in message
    assert "\n" not in message

    with pytest.raises(WarehouseLockedError, match=f"PID {holder.pid}"):
        wh.row_counts()

    holder.kill()
    holder.wait(timeout=30)
    wh.load("species", [species(["mouse"])])
    assert wh.row_counts()["species"] == 1


def test_a_holder_that_lets_go_soon_is_waited_for(db_path, workers):
    db_path.parent.mkdir(parents=True)
    ready = db_path.parent / "holding"
    holder = workers.start("hold", str(db_path), str(ready), "1.5")
    workers.wait_for(ready, holder)
    wh = Warehouse(db_path, busy_timeout=20, resources=RESOURCES)
    wh.load("species", [species(["mouse"])])
    assert holder.wait(timeout=30) == 0
    assert wh.row_counts()["species"] == 1


def test_writers_of_the_pipeline_queue_on_the_lock_file(db_path):
    wh = Warehouse(db_path, lock_timeout=0.3, resources=RESOURCES)
    with writer_lock(db_path):
        started = time.monotonic()
        with pytest.raises(WarehouseLockedError, match="another writer of this pipeline"):
            wh.load("species", [species(["mouse"])])
        assert time.monotonic() - started < 2

    # Released after 0.5 s: a writer with a longer wait gets through.
    patient = Warehouse(db_path, lock_timeout=10, resources=RESOURCES)
    release = threading.Event()

    def hold_briefly() -> None:
        with writer_lock(db_path):
            release.set()
            time.sleep(0.5)

    thread = threading.Thread(target=hold_briefly)
    thread.start()
    release.wait(5)
    patient.load("species", [species(["mouse", "rat"])])
    thread.join()
    assert patient.row_counts()["species"] == 2


def test_concurrent_loaders_in_two_processes_both_succeed(db_path, workers):
    Warehouse(db_path, resources=RESOURCES).ensure_schema()
    go = db_path.parent / "go"
    procs = [workers.start("load-loop", str(db_path), str(n), "4", str(go)) for n in (1, 2)]
    for n, proc in zip((1, 2), procs, strict=True):
        workers.wait_for(go.with_name(f"go.{n}"), proc)
    go.touch()  # both start loading at once
    for proc in procs:
        assert proc.wait(timeout=120) == 0, workers.output(proc)
    counts = Warehouse(db_path, resources=RESOURCES).row_counts()
    assert counts["measurements"] == 2 * 4 * 3000
    assert counts["animals"] == 2 * 4 * 40
