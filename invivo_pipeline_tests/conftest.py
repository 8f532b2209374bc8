"""Fixtures shared across test packages."""

from __future__ import annotations

import pytest

from invivo_pipeline_tests.support.materialized import Materialized, materialize


@pytest.fixture(scope="session")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> Materialized:
    """A warehouse, its reports and its Dagster instance after one real ``invivo sync``."""
    return materialize(tmp_path_factory.mktemp("materialized"))
