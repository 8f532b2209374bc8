"""Driving the sensors as the daemon would: evaluate, apply partition requests, run requests."""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.partitions.context import partition_loading_context
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from invivo_pipeline.definitions import defs
from invivo_pipeline.sources.invivo.api_resource import InVivoApiResource
from invivo_pipeline.sources.invivo.automation.jobs import GLOBAL_JOB, STUDY_FOLLOW_JOB, STUDY_JOB
from invivo_pipeline.sources.invivo.automation.sensors import study_discovery, webhook_events
from invivo_pipeline.sources.invivo.partitions import STUDY_PARTITIONS_NAME, study_partitions
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)


def api(server: SimulatorServer) -> InVivoApiResource:
    return InVivoApiResource(
        base_url=server.base_url, client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET
    )


def discover(server, instance, cursor=None) -> dg.SensorResult:
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"invivo_api": api(server)}, definitions=defs
    ) as context:
        result = study_discovery(context)
    apply_partitions(instance, result)
    return result


def read_events(instance, cursor=None) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
        result = webhook_events(context)
    apply_partitions(instance, result)
    return result


def apply_partitions(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """What the daemon does with a result's partition requests before launching its runs."""
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)


def partitions(instance) -> list[str]:
    return list(instance.get_dynamic_partitions(STUDY_PARTITIONS_NAME))


def in_progress(server) -> list[str]:
    return [s.id for s in server.world.studies if s.status == "in_progress"]


def studies_of(instance: dg.DagsterInstance, request: dg.RunRequest) -> list[str]:
    """The study partitions a request's run will load, resolved by Dagster itself against the
    instance's registered partitions (as the run's step resolves them when it starts)."""
    tags = request.tags
    if request.partition_key is not None or "dagster/partition" in tags:
        return [request.partition_key or tags["dagster/partition"]]
    if ASSET_PARTITION_RANGE_START_TAG not in tags:
        return []
    wanted = dg.PartitionKeyRange(
        tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG]
    )
    with partition_loading_context(dynamic_partitions_store=instance):
        return list(study_partitions.get_partition_keys_in_range(wanted))


def study_runs(result, instance: dg.DagsterInstance) -> dict[str, dg.RunRequest]:
    """Each study a result's study runs will load, and the run that loads it (an ingestion run,
    or a webhook's run that also builds the marts and reports)."""
    runs = [r for r in result.run_requests if r.job_name in (STUDY_JOB, STUDY_FOLLOW_JOB)]
    found: dict[str, dg.RunRequest] = {}
    for run in runs:
        for study in studies_of(instance, run):
            assert study not in found, f"{study} is in two runs"
            found[study] = run
    return found


def global_runs(result) -> list[dg.RunRequest]:
    return [r for r in result.run_requests if r.job_name == GLOBAL_JOB]


def execute(instance: dg.DagsterInstance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """Run a request in this process with the code location's own resources (from INVIVO_*)."""
    job = defs.resolve_job_def(request.job_name)
    return job.execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        asset_selection=list(request.asset_selection) if request.asset_selection else None,
        tags=request.tags,
    )
