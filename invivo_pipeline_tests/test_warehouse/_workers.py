"""Processes the locking and durability tests start: ``python -m <this module> <command> ...``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import TableLoad, Warehouse
from invivo_pipeline_tests.support.warehouse import animals, measurements


def hold(db: str, ready: str, seconds: str) -> None:
    """Be 'another program' holding the DuckDB file."""
    con = duckdb.connect(db)
    con.execute("SELECT 1").fetchone()
    Path(ready).touch()
    time.sleep(float(seconds))
    con.close()


def load_and_hang(db: str, marker: str, rows: str) -> None:
    """Write every table of a big load, then signal and wait (to be killed) before COMMIT."""
    original = Warehouse._write_table
    loads = [
        TableLoad("measurements", [measurements("sdy_A", int(rows), prefix="new")], "sdy_A"),
        TableLoad("animals", [animals("sdy_A", 3)], "sdy_A"),
    ]

    def write_then_hang(self, con, item, *args):  # type: ignore[no-untyped-def]
        result = original(self, con, item, *args)
        if item.spec.name == loads[-1].resource:
            Path(marker).write_text(str(Path(db).stat().st_size))
            time.sleep(600)
        return result

    Warehouse._write_table = write_then_hang  # type: ignore[method-assign]
    Warehouse(db, resources=RESOURCES).load_many(loads)


def load_loop(db: str, worker: str, times: str, go: str) -> None:
    """Load several studies one after another; ``busy_timeout=0`` proves writers never overlap."""
    warehouse = Warehouse(db, lock_timeout=60, busy_timeout=0, resources=RESOURCES)
    Path(f"{go}.{worker}").touch()
    while not Path(go).exists():
        time.sleep(0.01)
    for k in range(int(times)):
        study = f"sdy_w{worker}_{k}"
        warehouse.load_many(
            [
                TableLoad("measurements", [measurements(study, 3000)], study),
                TableLoad("animals", [animals(study, 40)], study),
            ]
        )
    print("done", worker, flush=True)


COMMANDS = {"hold": hold, "load-and-hang": load_and_hang, "load-loop": load_loop}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
