"""Every registered source's raw tables, so that every warehouse file carries all of them.

dbt reads every source's raw tables, so each file holds every source's schema, its tables empty
until that source loads, and dbt builds whichever sources are configured. The warehouse knows no
source: ``sources.registry`` registers each source's table when the code location is assembled,
and whoever opens a ``Warehouse`` for writing passes ``registered()`` as ``ensure_also``.
"""

from __future__ import annotations

from collections.abc import Iterable

from invivo_pipeline.core.resource_spec import Resource

_TABLES: dict[tuple[str, str], Resource] = {}


def register(resources: Iterable[Resource]) -> None:
    for resource in resources:
        _TABLES[(resource.schema, resource.name)] = resource


def registered() -> tuple[Resource, ...]:
    return tuple(_TABLES.values())
