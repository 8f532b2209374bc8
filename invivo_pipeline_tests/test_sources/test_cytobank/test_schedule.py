"""The daily Cytobank refresh through Dagster's schedule testing API: off without
CYTOBANK_BASE_URL; otherwise it registers the experiments and asks for one run over all of them."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from invivo_pipeline.sources.cytobank.assets import CytobankApiResource, cytobank_asset_key
from invivo_pipeline.sources.cytobank.partitions import CYTOBANK_EXPERIMENT_PARTITIONS_NAME
from invivo_pipeline.sources.cytobank.schedule import cytobank_refresh_daily
from invivo_pipeline.sources.cytobank.simulator.server import CytobankSimulatorServer
from invivo_pipeline.sources.cytobank.simulator.settings import DEMO_PASSWORD, DEMO_USERNAME
from invivo_pipeline.sources.cytobank.table import CYTOBANK_RESOURCES
from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig

WHEN = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
def instance():
    with dg.instance_for_test() as found:
        yield found


def evaluate(instance, api: CytobankApiResource):
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=WHEN, resources={"cytobank_api": api}
    ) as context:
        return cytobank_refresh_daily(context)


def test_without_a_cytobank_url_the_schedule_skips_and_says_why(instance, monkeypatch):
    monkeypatch.delenv("CYTOBANK_BASE_URL", raising=False)

    result = evaluate(instance, CytobankApiResource())

    assert isinstance(result, dg.SkipReason)
    assert "CYTOBANK_BASE_URL" in (result.skip_message or "")
    assert instance.get_dynamic_partitions(CYTOBANK_EXPERIMENT_PARTITIONS_NAME) == []


def test_it_registers_the_experiments_and_requests_one_run_over_all_of_them(instance):
    instance.add_dynamic_partitions(CYTOBANK_EXPERIMENT_PARTITIONS_NAME, ["999999"])
    with CytobankSimulatorServer(WorldConfig(studies=4, animals_per_study=4, days=3)) as sim:
        api = CytobankApiResource(
            base_url=sim.api_root, username=DEMO_USERNAME, password=DEMO_PASSWORD
        )
        request = evaluate(instance, api)
        expected = [str(e.id) for e in sim.world.experiments]

    assert expected, "the world has experiments"
    registered = instance.get_dynamic_partitions(CYTOBANK_EXPERIMENT_PARTITIONS_NAME)
    assert sorted(registered) == sorted(expected), "the vanished one is dropped"
    assert request.tags[ASSET_PARTITION_RANGE_START_TAG] == registered[0]
    assert request.tags[ASSET_PARTITION_RANGE_END_TAG] == registered[-1]
    assert request.run_key == "cytobank:2026-11-03"
    assert set(request.asset_selection) == {cytobank_asset_key(r.name) for r in CYTOBANK_RESOURCES}
