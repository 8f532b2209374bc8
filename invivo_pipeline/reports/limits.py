"""The body-weight limits the reports draw as guide lines: the dbt vars ``bw_alert_pct`` and
``bw_endpoint_pct``. Apart from the plots so that reading them costs no matplotlib import."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BodyWeightLimits:
    """The dbt vars ``bw_alert_pct`` and ``bw_endpoint_pct`` (% loss), drawn as guide lines."""

    alert_pct: float = 15.0
    endpoint_pct: float = 20.0


DEFAULT_LIMITS = BodyWeightLimits()
