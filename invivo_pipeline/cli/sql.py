"""``invivo sql``: query the read copy, which no writer ever holds, so it works while syncs run.

With a query it prints the result (a table, or CSV with ``--csv``); without one it opens the DuckDB
shell on the read copy when the ``duckdb`` command is on PATH. The warehouse itself is never
opened: a reader there would make the next sync wait for it, or fail to get in while one writes.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

import duckdb
from rich.console import Console

from invivo_pipeline.warehouse.duckdb_file import default_duckdb_path
from invivo_pipeline.warehouse.publish import published_path

DUCKDB_CLI = "duckdb"


class SqlError(Exception):
    """The one line to show: no read copy yet, no shell, or the query's own error."""


def read_copy() -> Path:
    """The read copy of the warehouse ``INVIVO_DUCKDB_PATH`` names; an error when there is none."""
    path = published_path(default_duckdb_path())
    if not path.exists():
        raise SqlError(
            f"no read copy at {path} yet: it is published after a sync (or a Dagster run) that "
            "changed the warehouse succeeds; run invivo sync first"
        )
    return path


def run_query(console: Console, query: str, *, as_csv: bool, max_rows: int) -> None:
    """Run ``query`` on a read-only connection to the read copy and print what it returns."""
    path = read_copy()
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            con.execute("SET TimeZone = 'UTC'")
            if as_csv:
                cursor = con.execute(query)
                if cursor.description is not None:  # None: a statement that returns nothing
                    writer = csv.writer(sys.stdout, lineterminator="\n")
                    writer.writerow([d[0] for d in cursor.description])
                    while rows := cursor.fetchmany(10_000):
                        writer.writerows(rows)
                return
            relation = con.sql(query)
            if relation is not None:
                relation.show(max_rows=max_rows, max_width=console.width)
    except duckdb.Error as exc:
        raise SqlError(_first_line(exc)) from None


def open_shell() -> None:
    """Replace this process with the DuckDB shell on the read copy, read-only."""
    path = read_copy()
    shell = shutil.which(DUCKDB_CLI)
    if shell is None:
        raise SqlError(
            f"the duckdb shell is not on PATH: install it (https://duckdb.org/docs/installation) "
            f'and run invivo sql again, or run a query: invivo sql "select ..." (it reads {path})'
        )
    os.execv(shell, [shell, "-readonly", str(path)])


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
