"""How often the pipeline looks for changes, and how much API it may spend looking.

Read from the environment when the code location loads (Dagster needs sensor intervals and
schedule crons at definition time), so a deployment tunes them without code changes. Every
variable, its default and its meaning is in ``docs/configuration.md`` (generated from
``invivo_pipeline.core.env_settings``); ``AutomationSettings.from_env`` is their one reader.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from invivo_pipeline.assets.schedule_settings import (
    AutomationConfigError,
    ScheduleSettings,
    whole_number,
)
from invivo_pipeline.sources.invivo.table import BY_NAME, STUDY

DEFAULT_PROBE_RESOURCES = ("measurements", "dosages", "observations", "samples")
DAILY_SCOPES = ("active", "all")


def _probe_resources(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("INVIVO_PROBE_RESOURCES", "").strip()
    if not raw:
        return DEFAULT_PROBE_RESOURCES
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    wrong = [
        n for n in names if n not in BY_NAME or BY_NAME[n].scope is not STUDY or BY_NAME[n].single
    ]
    if wrong:
        raise AutomationConfigError(
            f"INVIVO_PROBE_RESOURCES: {', '.join(wrong)} are not per-study lists"
        )
    return names


@dataclass(frozen=True)
class AutomationSettings:
    discovery_interval_s: int = 60
    webhook_interval_s: int = 5
    probe_interval_s: int = 300
    probe_resources: tuple[str, ...] = DEFAULT_PROBE_RESOURCES
    automation_interval_s: int = ScheduleSettings.automation_interval_s
    reconcile_cron: str = ScheduleSettings.reconcile_cron
    daily_scope: str = "active"
    finished_cron: str = "0 3 * * 0"
    timezone: str = ScheduleSettings.timezone
    max_events_per_tick: int = 5000
    webhook_settle_s: int = 2

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AutomationSettings:
        scope = env.get("INVIVO_DAILY_RECONCILE", "").strip() or cls.daily_scope
        if scope not in DAILY_SCOPES:
            raise AutomationConfigError(
                f"INVIVO_DAILY_RECONCILE must be one of {', '.join(DAILY_SCOPES)}"
            )
        shared = ScheduleSettings.from_env(env)
        return cls(
            discovery_interval_s=whole_number(
                env, "INVIVO_SENSOR_INTERVAL_S", cls.discovery_interval_s, 1
            ),
            webhook_interval_s=whole_number(
                env, "INVIVO_WEBHOOK_SENSOR_INTERVAL_S", cls.webhook_interval_s, 1
            ),
            probe_interval_s=whole_number(env, "INVIVO_PROBE_INTERVAL_S", cls.probe_interval_s, 0),
            probe_resources=_probe_resources(env),
            automation_interval_s=shared.automation_interval_s,
            reconcile_cron=shared.reconcile_cron,
            daily_scope=scope,
            finished_cron=env.get("INVIVO_FINISHED_CRON", "").strip() or cls.finished_cron,
            timezone=shared.timezone,
            max_events_per_tick=whole_number(
                env, "INVIVO_MAX_EVENTS_PER_TICK", cls.max_events_per_tick, 1
            ),
            webhook_settle_s=whole_number(env, "INVIVO_WEBHOOK_SETTLE_S", cls.webhook_settle_s, 0),
        )
