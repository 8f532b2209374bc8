"""The Dagster instance a command records its runs in, without Dagster's first-run noise.

With ``DAGSTER_HOME`` set to a folder holding a ``dagster.yaml`` (e.g. one from ``deploy/``),
that file is the instance, as for the webserver and daemon. A folder without one gets Dagster's
defaults (SQLite storage in the folder), as ``dagster`` itself would load it, but with telemetry
off: nothing is sent, so Dagster's telemetry notice and "Welcome to Dagster!" banner, and its
warning that the file is missing, have nothing to say and would only bury the sync's own output.
Its event log is the one ``deploy/dagster.yaml`` configures (``assets.event_storage``): the same
files in the same place, written faster, so a ``dagster dev`` on the folder reads them as usual.
Without ``DAGSTER_HOME`` the instance is a throwaway one (Dagster's ephemeral instance never
sends telemetry either).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from invivo_pipeline.assets.event_storage import PooledSqliteEventLogStorage

QUIET_DEFAULTS = {"telemetry": {"enabled": False}}


def default_overrides(home: Path) -> dict:
    """Dagster's defaults for an instance in ``home`` that has no ``dagster.yaml``, but quiet and
    with the event log of ``deploy/dagster.yaml``."""
    return QUIET_DEFAULTS | {
        "event_log_storage": {
            "module": PooledSqliteEventLogStorage.__module__,
            "class": PooledSqliteEventLogStorage.__name__,
            "config": {"instance_dir": str(home)},
        }
    }


def command_instance(env: Mapping[str, str] = os.environ) -> dg.DagsterInstance:
    home = env.get("DAGSTER_HOME")
    if not home:
        return dg.DagsterInstance.ephemeral()
    if (Path(home) / "dagster.yaml").exists():
        return dg.DagsterInstance.get()
    logger = logging.getLogger("dagster")
    level = logger.level
    logger.setLevel(logging.ERROR)  # the one "no dagster.yaml" warning of loading the defaults
    try:
        folder = Path(home).resolve()
        ref = InstanceRef.from_dir(str(folder), overrides=default_overrides(folder))
    finally:
        logger.setLevel(level)
    return dg.DagsterInstance.from_ref(ref)
