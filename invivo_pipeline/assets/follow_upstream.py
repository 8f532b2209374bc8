"""Reports follow raw: every asset in the ``staging`` and ``marts`` groups (the dbt models) and in
``reports`` (plots and HTML pages) is materialized again soon after any of its upstream assets is,
so reports are never stale relative to ``invivo_raw``.

Declarative automation does it: ``follow_upstream(assets)`` puts ``FOLLOW_UPSTREAM`` on the specs
of those assets (unless they already have a condition) before they go into ``Definitions``, and
``report_automation`` (RUNNING by default) evaluates it every ``INVIVO_AUTOMATION_INTERVAL_S`` seconds. ``FOLLOW_UPSTREAM`` is ``eager()`` without its
"no upstream partition is missing" clause: with one raw partition per study, a single study never
loaded (a run that failed on it) would otherwise freeze every report. It still waits while an
upstream run is in progress, so a burst of study runs is followed by one dbt run, not one each.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from invivo_pipeline.assets.schedule_settings import SCHEDULES

REPORT_GROUPS = ("staging", "marts", "reports")
FOLLOW_UPSTREAM = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


def report_selection() -> dg.AssetSelection:
    return dg.AssetSelection.groups(*REPORT_GROUPS)


def _follow(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.group_name not in REPORT_GROUPS or spec.automation_condition is not None:
        return spec
    return spec.replace_attributes(automation_condition=FOLLOW_UPSTREAM)


def follow_upstream(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """``assets`` with ``FOLLOW_UPSTREAM`` on every report asset's spec that has no condition of
    its own (``dg.map_asset_specs``, a public API, on the definitions before they are loaded)."""
    return list(dg.map_asset_specs(_follow, assets))


report_automation = dg.AutomationConditionSensorDefinition(
    "invivo_reports_follow_raw",
    target=report_selection(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=SCHEDULES.automation_interval_s,
    description="Rebuilds the dbt models (groups staging and marts) after their raw inputs change, "
    "and the plots and reports (group reports) after their marts do.",
)
