"""Freshness policies: a stalled sensor, a stopped daemon or a failing schedule shows in the UI as
stale assets instead of going unnoticed.

The daily reconcile (``INVIVO_RECONCILE_CRON``, 02:00 UTC) reloads the global raw tables every day
whatever the sensors saw, and the marts and reports follow them within minutes. So each of those
assets is materialized at least once a day while automation works: one missed day warns, two
fail. Per-study tables get no policy: a finished study is rightly left alone for a week.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import dagster as dg

DAILY = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=50), warn_window=timedelta(hours=26)
)
"""A day plus the reconcile's two hours warns; two days plus two hours fails."""
FRESH_GROUPS = ("marts", "reports")
RAW_GROUP = "invivo_raw"


def _needs_policy(spec: dg.AssetSpec) -> bool:
    if spec.freshness_policy is not None:
        return False
    if spec.group_name in FRESH_GROUPS:
        return True
    return spec.group_name == RAW_GROUP and spec.partitions_def is None


def _with_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    return spec.replace_attributes(freshness_policy=DAILY) if _needs_policy(spec) else spec


def with_freshness(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """``assets`` with ``DAILY`` on the specs of the marts, the reports and the global raw tables
    that have no policy of their own."""
    return list(dg.map_asset_specs(_with_policy, assets))
