"""Keeping the warehouse fresh: sensors, schedules and the jobs they launch.

- ``discovery``: list studies, probe in-progress ones, plan refreshes (pure, with its request cost);
- ``webhook_plan``: stored webhook events to refreshes (pure);
- ``reconcile``: what the daily and weekly schedules reload (pure);
- ``jobs``, ``runs``, ``sensors``, ``schedules``, ``cytobank_schedule``, ``reports``: the thin
  Dagster layer;
- ``settings``: intervals, crons and probe lists from ``INVIVO_*`` variables;
- ``publication``: the read copy analysts open, published after each successful writing run.

``definitions.py`` adds ``JOBS``, ``SENSORS`` and ``SCHEDULES``, and maps the asset specs with
``follow_upstream`` (dbt models and reports follow their raw inputs) and ``freshness.with_freshness``
(a stall shows as stale assets).
"""

from invivo_pipeline.automation.cytobank_schedule import cytobank_refresh_daily
from invivo_pipeline.automation.jobs import JOBS as _INGEST_JOBS
from invivo_pipeline.automation.publication import publish_after_writes, publish_job
from invivo_pipeline.automation.reports import follow_upstream, report_automation
from invivo_pipeline.automation.schedules import SCHEDULES as _INVIVO_SCHEDULES
from invivo_pipeline.automation.sensors import SENSORS as _PIPELINE_SENSORS

JOBS = [*_INGEST_JOBS, publish_job]
SENSORS = [*_PIPELINE_SENSORS, report_automation, publish_after_writes]
SCHEDULES = [*_INVIVO_SCHEDULES, cytobank_refresh_daily]

__all__ = ["JOBS", "SCHEDULES", "SENSORS", "follow_upstream"]
