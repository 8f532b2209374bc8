"""Keeping the In Vivo tables fresh: sensors, schedules and the jobs they launch.

- ``discovery``: list studies, probe in-progress ones, plan refreshes (pure, with its request cost);
- ``webhook_plan``: stored webhook events to refreshes (pure);
- ``reconcile``: what the daily and weekly schedules reload (pure);
- ``jobs``, ``runs``, ``sensors``, ``schedules``: the thin Dagster layer;
- ``settings``: intervals, crons and probe lists from ``INVIVO_*`` variables.
"""
