"""``invivo sql`` and the read copy it opens, end to end: a reader querying the read copy in a loop
while syncs write never fails and sees each sync's data once it has succeeded; a failed sync
publishes nothing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.warehouse.publish import published_path
from invivo_pipeline_tests.support.cli import SMALL_WORLD, pointing_at

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

COUNT = "select count(*) from invivo_raw.measurements"

READER = """
import json, sys, time
from pathlib import Path
import duckdb

path, stop, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
queries, failures, seen = 0, [], []
while not stop.exists():
    try:  # a fresh read-only connection each time, as an analyst's every query would be
        with duckdb.connect(path, read_only=True) as con:
            n = con.execute("select count(*) from invivo_raw.measurements").fetchall()[0][0]
        queries += 1
        if not seen or seen[-1] != n:
            seen.append(n)
    except Exception as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
    time.sleep(0.02)
out.write_text(json.dumps({"queries": queries, "failures": failures[:5], "seen": seen}))
"""


def _warehouse_count(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(COUNT).fetchall()[0][0]


def test_a_reader_of_the_read_copy_never_fails_while_syncs_write(cli, tmp_path):
    with SimulatorServer(WorldConfig(seed=41, **SMALL_WORLD)) as server:
        first = cli.run("sync", "--quiet", **pointing_at(server))
        assert first.returncode == 0, first.stderr
        read_copy = published_path(cli.db)
        assert f"read copy: {read_copy}" in first.stdout.replace("\n", "")
        counts = [_warehouse_count(cli.db)]

        stop, out = tmp_path / "stop", tmp_path / "reader.json"
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(read_copy), str(stop), str(out)],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for _ in range(2):
                server.advance(days=1)
                synced = cli.run("sync", "--quiet", **pointing_at(server))
                assert synced.returncode == 0, synced.stderr
                counts.append(_warehouse_count(cli.db))
                assert _warehouse_count(read_copy) == counts[-1]

            # A sync whose dbt step fails loads the raw tables but publishes nothing.
            server.advance(days=1)
            failed = cli.run(
                "sync", "--quiet", **pointing_at(server), INVIVO_DBT_MEMORY_LIMIT="not-a-size"
            )
            assert failed.returncode == 1 and failed.stderr.count("\n") == 1, failed.stderr
            assert _warehouse_count(cli.db) > counts[-1]
            assert _warehouse_count(read_copy) == counts[-1]
            time.sleep(0.5)
        finally:
            stop.touch()
            _, errors = reader.communicate(timeout=60)
    assert reader.returncode == 0, errors
    report = json.loads(out.read_text())
    assert report["failures"] == [] and report["queries"] > 20, report
    assert counts[0] < counts[1] < counts[2]
    # The reader saw each successful sync's data, in order, and never the failed sync's.
    assert report["seen"] == counts, report


def test_invivo_sql_prints_a_querys_rows_and_fails_in_one_line(cli, tmp_path):
    missing = cli.run("sql", "select 1")
    assert missing.returncode == 1 and "no read copy" in missing.stderr
    assert missing.stderr.count("\n") == 1, missing.stderr

    with SimulatorServer(WorldConfig(seed=42, **SMALL_WORLD)) as server:
        assert cli.run("sync", "--quiet", **pointing_at(server)).returncode == 0
    with duckdb.connect(str(cli.db), read_only=True) as con:
        studies = con.execute("select id, name from invivo_raw.studies order by id").fetchall()
    query = "select id, name from invivo_raw.studies order by id"

    table = cli.run("sql", query)
    assert table.returncode == 0, table.stderr
    for study_id, name in studies:
        assert study_id in table.stdout and name in table.stdout
    as_csv = cli.run("sql", "--csv", query)
    assert as_csv.returncode == 0, as_csv.stderr
    lines = as_csv.stdout.splitlines()
    assert lines[0] == "id,name" and len(lines) == len(studies) + 1
    assert lines[1].split(",")[0] == studies[0][0]

    bad = cli.run("sql", "select * from marts.no_such_table")
    assert bad.returncode == 1 and "no_such_table" in bad.stderr
    assert bad.stderr.count("\n") == 1, bad.stderr
    write = cli.run("sql", "delete from invivo_raw.studies")
    assert write.returncode == 1 and "read-only" in write.stderr, write.stderr

    # No query: the DuckDB shell on the read copy, read-only; without one on PATH, one line.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "duckdb"
    fake.write_text('#!/bin/sh\necho "shell: $@"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    shell = cli.run("sql", PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.strip() == f"shell: -readonly {published_path(cli.db)}"
    python_dir = Path(sys.executable).parent
    no_shell = cli.run("sql", PATH=str(python_dir))
    assert no_shell.returncode == 1 and "duckdb shell is not on PATH" in no_shell.stderr
