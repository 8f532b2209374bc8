"""What a source adds to the code location: ``definitions.py`` assembles every registered source
(``sources/registry.py``) from these, so adding a source touches no shared module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from invivo_pipeline.core.resource_spec import Resource


@dataclass(frozen=True)
class Source:
    name: str
    tables: Sequence[Resource]
    """Its resource table: every warehouse file carries these tables (``warehouse.catalog``)."""
    assets: Sequence[dg.AssetsDefinition]
    resources: Mapping[str, Any]
    """The Dagster resources its assets, sensors and schedules need (``invivo_api``, ...)."""
    jobs: Sequence[Any] = field(default_factory=tuple)
    schedules: Sequence[dg.ScheduleDefinition] = field(default_factory=tuple)
    sensors: Sequence[dg.SensorDefinition] = field(default_factory=tuple)
