"""The ceiling: DuckDB's native ``read_json`` (C++, no Python) over the same records."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb


def write_ndjson(records_by_table: dict[str, list[bytes]], directory: Path) -> dict[str, Path]:
    """One file per table, one record (its JSON as the API sends it) per line."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for table, records in records_by_table.items():
        if not records:
            continue
        path = directory / f"{table}.ndjson"
        with path.open("wb") as out:
            for record in records:
                out.write(record)
                out.write(b"\n")
        paths[table] = path
    return paths


def native_load_seconds(paths: dict[str, Path], database: Path) -> float:
    """Seconds for DuckDB to read every file into a table of its own (types auto-detected).

    Opening and closing the file are timed, as they are for the pipeline: closing writes the
    checkpoint, without which the rows are not in the file yet.
    """
    started = time.perf_counter()
    with duckdb.connect(str(database)) as con:
        for table, path in paths.items():
            con.execute(
                f"CREATE TABLE {table} AS SELECT * FROM read_json('{path}', "
                "format='newline_delimited', maximum_object_size=104857600)"
            )
    return time.perf_counter() - started
