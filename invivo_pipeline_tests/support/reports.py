"""Shared reading of the materialized warehouse for the report tests."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

from invivo_pipeline.reports.data import StudyData

ROOT = Path(__file__).resolve().parents[2]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk."""
    assert png[:8] == PNG_MAGIC, "not a PNG"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def by_kind(studies: list[StudyData]) -> dict[str, StudyData]:
    """The simulated world's studies by what they are: oncology with data, tox, draft."""
    kinds: dict[str, StudyData] = {}
    for study in studies:
        if study.overview["status"] == "draft":
            kinds["draft"] = study
        elif study.code.startswith("TOX"):
            kinds["tox"] = study
        elif study.overview["status"] == "completed":
            kinds["oncology"] = study
    assert set(kinds) == {"draft", "tox", "oncology"}, [s.code for s in studies]
    return kinds


def undated(page: str) -> str:
    """The page without its "generated <minute>" stamp (two runs may straddle a minute)."""
    return re.sub(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "generated", page)


def pages_in(directory: Path) -> dict[str, str]:
    """Every file a report run wrote in ``directory`` (name → text, undated)."""
    return {p.name: undated(p.read_text()) for p in directory.iterdir() if p.is_file()}


def copy_of(db: Path, directory: Path) -> Path:
    """A copy of a warehouse file, for a test that changes it or holds its lock (the shared one
    stays as the sync left it)."""
    directory.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(db, directory / db.name))


_WRITER = """
import sys
from pathlib import Path
from invivo_pipeline.warehouse.duckdb_file import open_writer
with open_writer(Path(sys.argv[1]), lock_timeout=2, busy_timeout=2) as con:
    con.execute(sys.argv[2])
"""


def write_from_another_process(db: Path, sql: str) -> subprocess.CompletedProcess[str]:
    """Run ``sql`` as the pipeline's writers do (the writer lock, then the file read-write), from
    another process, giving up after 2 s of waiting for either: what an ingestion run does."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-c", _WRITER, str(db), sql],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
