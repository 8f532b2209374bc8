"""The schedule settings every source shares: when reconciles run, in which time zone, and how
often the dbt models and reports are checked against their inputs.

Read from the environment when the code location loads (Dagster needs crons and intervals at
definition time); every variable is in ``docs/configuration.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class AutomationConfigError(ValueError):
    pass


def whole_number(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise AutomationConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise AutomationConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class ScheduleSettings:
    automation_interval_s: int = 30
    reconcile_cron: str = "0 2 * * *"
    timezone: str = "UTC"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ScheduleSettings:
        return cls(
            automation_interval_s=whole_number(
                env, "INVIVO_AUTOMATION_INTERVAL_S", cls.automation_interval_s, 1
            ),
            reconcile_cron=env.get("INVIVO_RECONCILE_CRON", "").strip() or cls.reconcile_cron,
            timezone=env.get("INVIVO_SCHEDULE_TIMEZONE", "").strip() or cls.timezone,
        )


SCHEDULES = ScheduleSettings.from_env()
