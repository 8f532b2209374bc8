from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]
WORKERS = "invivo_pipeline_tests.test_warehouse._workers"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # A missing parent directory: the warehouse creates it.
    return tmp_path / "data" / "invivo.duckdb"


@pytest.fixture
def wh(db_path: Path) -> Warehouse:
    return Warehouse(db_path, lock_timeout=10, busy_timeout=2, resources=RESOURCES)


class Workers:
    """Starts worker processes and makes sure none outlives the test."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"worker-{len(self.procs)}.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", WORKERS, *args], cwd=ROOT, env=env, stdout=out, stderr=out
            )
        proc.log = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    @staticmethod
    def output(proc: subprocess.Popen[bytes]) -> str:
        return proc.log.read_text()  # type: ignore[attr-defined]

    def wait_for(self, path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if proc.poll() is not None:
                pytest.fail(f"worker exited with {proc.returncode}:\n{self.output(proc)}")
            if time.monotonic() > deadline:
                pytest.fail(f"worker never created {path}:\n{self.output(proc)}")
            time.sleep(0.05)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()
