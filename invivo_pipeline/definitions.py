"""The Dagster code location: every registered source's assets, jobs, schedules and sensors, the
shared dbt models and reports, and the resources they need.

``dg dev`` (from the repository root, through ``[tool.dg]`` in pyproject.toml), ``dagster dev -w
workspace.yaml`` and ``invivo sync`` all load ``defs`` from here.
"""

from collections.abc import Sequence

import dagster as dg

from invivo_pipeline.assets.dbt import dbt_cli, dbt_project, invivo_dbt
from invivo_pipeline.assets.follow_upstream import follow_upstream, report_automation
from invivo_pipeline.assets.freshness import with_freshness
from invivo_pipeline.assets.publication import publish_after_writes, publish_job
from invivo_pipeline.assets.report_pages import invivo_reports
from invivo_pipeline.assets.source import Source
from invivo_pipeline.assets.warehouse_resource import WarehouseResource
from invivo_pipeline.sources.registry import SOURCES
from invivo_pipeline.warehouse import catalog


def definitions_for(sources: Sequence[Source]) -> dg.Definitions:
    """The code location over ``sources``: each adds its own; the dbt models, reports and the
    read copy's publication are shared."""
    for source in sources:
        catalog.register(source.tables)
    # Sensors and schedules keep raw fresh; the dbt models (groups staging, marts) and the reports
    # follow their inputs, and the freshness policies make a stall visible: both set on the specs.
    raw = [asset for source in sources for asset in source.assets]
    return dg.Definitions(
        assets=with_freshness(follow_upstream([*raw, invivo_dbt, invivo_reports])),
        jobs=[*(job for source in sources for job in source.jobs), publish_job],
        schedules=[schedule for source in sources for schedule in source.schedules],
        sensors=[
            *(sensor for source in sources for sensor in source.sensors),
            report_automation,
            publish_after_writes,
        ],
        resources={
            **{key: value for source in sources for key, value in source.resources.items()},
            "warehouse": WarehouseResource(),
            "dbt": dbt_cli(dbt_project),
        },
        # Every step writes the one DuckDB file behind one writer lock, so steps gain nothing from
        # processes of their own, and each would cost a Python start-up and an import of these
        # definitions: the automation's dbt-then-reports runs paid it twice.
        executor=dg.in_process_executor,
    )


defs = definitions_for(SOURCES)
