"""The dbt CLI resource: dagster-dbt's, running this environment's dbt, without its set-up costs.

Before every ``dbt.cli(...)`` dagster-dbt runs ``dbt --version`` in a subprocess (an interpreter
importing dbt, once per run, since each run builds its resources afresh) and builds a dbt adapter in
the Dagster process (profile, project and every macro loaded). Together they took 2–3.6 s of each
dbt step on a 2-core machine (docs/performance.md): a fifth of a one-study build. Neither is
needed here:

- the dbt this resource runs is the script installed beside this interpreter, so its version is
  the installed dbt-core's;
- the adapter serves only dagster-dbt's ``fetch_row_counts()`` / ``fetch_column_metadata()``,
  which this project replaces (``dbt_metadata``); dagster-dbt runs without one for dbt Fusion.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version


def dbt_executable() -> str:
    """The ``dbt`` installed beside this interpreter, else ``dbt`` on PATH.

    The one beside the interpreter runs the dbt-core this package depends on and imports (the
    manifest, the adapter's plugin), whatever else PATH holds; and ``/path/to/venv/bin/invivo
    sync`` (cron, a container entry point, ``pipx``) runs without the venv's ``bin`` on PATH.
    """
    return _beside_the_interpreter() or "dbt"  # not installed at all: dagster-dbt's error says so


def _beside_the_interpreter() -> str | None:
    return shutil.which("dbt", path=str(Path(sys.executable).parent))


class InVivoDbtCliResource(DbtCliResource):
    """``DbtCliResource`` that knows its dbt's version and builds no in-process adapter."""

    @cached_property
    def _cli_version(self) -> version.Version:
        if self.dbt_executable == _beside_the_interpreter():
            return version.parse(installed_version("dbt-core"))
        return super()._cli_version  # another dbt: ask it, as dagster-dbt does

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None
