"""Run the real ``invivo`` command in a subprocess against a simulator on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline_tests.support.tenant import expected_records, primary_key

ROOT = Path(__file__).resolve().parents[2]
SMALL_WORLD = {"studies": 4, "animals_per_study": 12, "days": 10}


def clean_env() -> dict[str, str]:
    """This environment without any INVIVO_/DAGSTER_ setting, as on a fresh machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVIVO_", "DAGSTER_"))}
    return {**env, "COLUMNS": "250"}


def run_demo(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``invivo demo --quiet`` into ``data`` with ``args``, as a user runs it; it must succeed."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "invivo_pipeline",
            "demo",
            "--quiet",
            "--data-dir",
            str(data),
            *args,
        ],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result


@dataclass
class Cli:
    env: dict[str, str]
    db: Path

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "invivo_pipeline", *args]

    def run(self, *args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            cwd=ROOT,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    db = tmp_path / "warehouse" / "invivo.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVIVO_", "DAGSTER_"))}
    env.update(
        {
            "INVIVO_CLIENT_ID": DEMO_CLIENT_ID,
            "INVIVO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
            "INVIVO_DUCKDB_PATH": str(db),
            "COLUMNS": "200",
        }
    )
    yield Cli(env, db)


def pointing_at(server: SimulatorServer) -> dict[str, str]:
    return {"INVIVO_BASE_URL": server.base_url}


def warehouse_records(db: Path) -> dict[str, dict[tuple, dict]]:
    """Table → primary key → ``_record`` as stored, read straight from the DuckDB file."""
    found: dict[str, dict[tuple, dict]] = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for resource in RESOURCES:
            keys = ", ".join(resource.primary_key)
            rows = con.execute(
                f"SELECT {keys}, CAST(_record AS VARCHAR) FROM invivo_raw.{resource.name}"
            ).fetchall()
            table = found.setdefault(resource.name, {})
            for row in rows:
                key = tuple(str(v) for v in row[:-1])
                assert key not in table, f"{resource.name}: duplicate {key}"
                table[key] = json.loads(row[-1])
    return found


def table_snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table, ``_loaded_at`` included, in a stable order."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            r.name: sorted(con.execute(f"SELECT * FROM invivo_raw.{r.name}").fetchall(), key=repr)
            for r in RESOURCES
        }


def assert_matches_world(db: Path, server: SimulatorServer) -> None:
    expected = expected_records(server.world)
    stored = warehouse_records(db)
    for table, records in expected.items():
        assert set(stored[table]) == set(records), f"{table}: rows differ"
        assert stored[table] == records, f"{table}: records differ from the API's"


__all__ = [
    "SMALL_WORLD",
    "Cli",
    "assert_matches_world",
    "pointing_at",
    "primary_key",
    "table_snapshot",
]
