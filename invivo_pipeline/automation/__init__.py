"""Keeping the warehouse fresh: sensors, schedules and the jobs they launch.

- ``discovery``: list studies, probe in-progress ones, plan refreshes (pure, with its request cost);
- ``webhook_plan``: stored webhook events to refreshes (pure);
- ``reconcile``: what the daily and weekly schedules reload (pure);
- ``jobs``, ``runs``, ``sensors``, ``schedules``, ``cytobank_schedule``, ``reports``: the thin
  Dagster layer;
- ``settings``: intervals, crons and probe lists from ``INVIVO_*`` variables.

``definitions.py`` adds ``JOBS``, ``SENSORS`` and ``SCHEDULES``, and maps the asset specs with
``follow_upstream`` (dbt models and reports follow their raw inputs) and ``freshness.with_freshness``
(a stall shows as stale assets).
"""

from invivo_pipeline.automation.cytobank_schedule import cytobank_refresh_daily
from invivo_pipeline.automation.jobs import JOBS
from invivo_pipeline.automation.reports import follow_upstream, report_automation
from invivo_pipeline.automation.schedules import SCHEDULES as _INVIVO_SCHEDULES
from invivo_pipeline.automation.sensors import SENSORS as _PIPELINE_SENSORS

SENSORS = [*_PIPELINE_SENSORS, report_automation]
SCHEDULES = [*_INVIVO_SCHEDULES, cytobank_refresh_daily]

__all__ = ["JOBS", "SCHEDULES", "SENSORS", "follow_upstream"]
