"""A dbt-duckdb plugin that makes the ``dbt`` child die with the pipeline process that started it.

The pipeline runs ``dbt build`` as a child process while it holds the warehouse's writer lock. If
the pipeline is killed outright (``kill -9``, the OOM killer, a container stop), the lock goes
with it, but the child would live on, reparented to PID 1, and keep writing the warehouse while
the next run believes it holds the only writer. No code of the dying parent can run, so the child
has to arrange its own end: Linux's ``PR_SET_PDEATHSIG`` asks the kernel to send it SIGKILL when
its parent dies. DuckDB's write-ahead log makes that as safe as the parent's own kill: the file
opens afterwards at its last committed state.

dbt-duckdb loads this module in the dbt process (``plugins:`` in ``dbt_project/profiles.yml``)
before it opens the database, so the guard is in place before dbt writes anything. It acts only
when the pipeline named itself as the parent (``INVIVO_DBT_PARENT_PID``): a ``dbt build`` typed in
a shell is left alone. Standard library only: it runs inside dbt, where importing the pipeline's
Dagster code would cost seconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

PARENT_PID_ENV = "INVIVO_DBT_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def die_with_parent(expected_parent: int) -> bool:
    """Ask the kernel to kill this process when its parent dies; True if the guard is in place.

    If the parent is already gone (this process was reparented before the guard was set), exit at
    once rather than write without the lock.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if os.getppid() != expected_parent:
        os._exit(1)
    return True


class Plugin(BasePlugin):
    """dbt-duckdb calls ``initialize`` when it loads the profile's plugins, before any connection."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        parent = os.environ.get(PARENT_PID_ENV, "").strip()
        if parent.isdigit():
            die_with_parent(int(parent))
