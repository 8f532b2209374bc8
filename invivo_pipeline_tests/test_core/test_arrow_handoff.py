"""Arrow tables handed over through files in shared memory come back equal, leave no file behind,
and fall back to the pipe (None) wherever a file cannot be written."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pyarrow as pa
import pytest

from invivo_pipeline.core import arrow_handoff
from invivo_pipeline.core.arrow_handoff import Handoff, put, take


def _rows(n: int) -> pa.Table:
    """The kinds of column a worker sends: string views into one buffer, JSON, numbers, nulls."""
    records = [f'{{"id":"m{i}","value":{i * 0.5}}}' for i in range(n)]
    return pa.table(
        {
            "study_id": pa.array(["st_1"] * n, pa.string_view()),
            "value": pa.array([None if i % 7 == 0 else i * 0.5 for i in range(n)], pa.float64()),
            "_record": pa.array(records, pa.json_(pa.string())),
        }
    )


@pytest.fixture
def handoff(tmp_path):
    shared = Handoff(tmp_path)
    yield shared
    shared.close()


def test_a_table_comes_back_equal_and_its_file_is_gone(handoff):
    table = _rows(5_000)
    path = put(table, handoff.directory)
    assert path is not None and os.path.dirname(path) == handoff.directory

    back = take(path)

    assert back.equals(table) and back.schema == table.schema
    assert os.listdir(handoff.directory) == []
    # The columns are read from the mapped file, which outlives its name: DuckDB scans them.
    assert duckdb.sql("SELECT count(*), sum(value) FROM back").fetchall() == [
        (5_000, sum(i * 0.5 for i in range(5_000) if i % 7))
    ]


def test_an_empty_table_or_no_folder_travels_in_the_answer(handoff, tmp_path):
    assert put(_rows(0), handoff.directory) is None
    assert put(_rows(3), None) is None
    assert os.listdir(handoff.directory) == []


def test_a_folder_that_cannot_take_the_file_leaves_nothing_and_says_so(handoff):
    gone = os.path.join(handoff.directory, "removed")  # as a full or vanished /dev/shm would
    assert put(_rows(3), gone) is None
    assert os.listdir(handoff.directory) == []


def test_close_removes_what_was_never_taken(tmp_path):
    shared = Handoff(tmp_path)
    put(_rows(10), shared.directory)
    shared.close()
    assert list(tmp_path.iterdir()) == []
    assert shared.directory is None
    shared.close()  # twice is harmless


def test_without_shared_memory_there_is_no_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(arrow_handoff, "SHARED_MEMORY", tmp_path / "no-such-dir")
    assert Handoff().directory is None


def test_a_killed_runs_folder_is_removed_and_a_living_ones_kept(tmp_path):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                           capture_output=True, text=True)  # fmt: skip
    dead = tmp_path / f"invivo-rows-{int(ended.stdout)}-abc"
    living = tmp_path / f"invivo-rows-{os.getppid()}-def"
    other = tmp_path / "someone-elses"
    for folder in (dead, living, other):
        folder.mkdir()
        (folder / "x.arrow").write_bytes(b"rows")

    shared = Handoff(tmp_path)

    assert not dead.exists() and living.exists() and other.exists()
    shared.close()


def test_a_full_shared_memory_at_the_start_means_no_folder_not_a_failure(tmp_path, monkeypatch):
    def full(**_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(arrow_handoff.tempfile, "mkdtemp", full)
    assert Handoff(tmp_path).directory is None
