"""Fixtures shared across test packages."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from invivo_pipeline_tests.support.materialized import Materialized, materialize


@pytest.fixture(scope="session")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> Materialized:
    """A warehouse, its reports and its Dagster instance after one real ``invivo sync``."""
    return materialize(tmp_path_factory.mktemp("materialized"))


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """The instance ``deploy/dagster.yaml`` makes of a folder, as the daemon loads it: with
    ``DAGSTER_HOME`` set to the folder, where its event log goes."""
    shutil.copy(Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml", tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        yield instance


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that reads the session's ``materialized`` sync is end to end, wherever it lives:
    marking it here keeps ``-m "not slow"`` from paying for that whole sync because one quick
    test in a folder happens to read it."""
    for item in items:
        if "materialized" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
