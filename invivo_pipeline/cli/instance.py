"""The Dagster instance a command records its runs in, without Dagster's first-run noise.

With ``DAGSTER_HOME`` set to a folder holding a ``dagster.yaml`` (e.g. one from ``deploy/``),
that file is the instance, as for the webserver and daemon. A folder without one gets Dagster's
defaults (SQLite storage in the folder), as ``dagster`` itself would load it, but with telemetry
off: nothing is sent, so Dagster's telemetry notice and "Welcome to Dagster!" banner, and its
warning that the file is missing, have nothing to say and would only bury the sync's own output.
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

QUIET_DEFAULTS = {"telemetry": {"enabled": False}}


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
        ref = InstanceRef.from_dir(str(Path(home).resolve()), overrides=QUIET_DEFAULTS)
    finally:
        logger.setLevel(level)
    return dg.DagsterInstance.from_ref(ref)
