"""Holding the SQLite event log open during a run: the run's events are all recorded, and no WAL
checkpoint happens per event while it is held (the cost it removes), only once it is released."""

import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from invivo_pipeline.assets.event_log import event_log_kept_open
from invivo_pipeline_tests.support.postgres_server import postgres, postgres_home  # noqa: F401 (fixtures)

PARTITIONS = dg.DynamicPartitionsDefinition(name="studies_for_event_log_test")
KEYS = [f"study-{i}" for i in range(5)]


@dg.asset(partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run())
def table(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    if context.run.tags.get("fail"):
        raise RuntimeError("the run fails")
    return dg.MaterializeResult(metadata={"rows": len(context.partition_keys)})


JOB = dg.Definitions(assets=[table]).resolve_implicit_global_asset_job_def()


@pytest.fixture
def instance(tmp_path):
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path)) as inst:
        inst.add_dynamic_partitions(PARTITIONS.name, KEYS)
        yield inst


def run(instance: dg.DagsterInstance, run_id: str, **tags: str) -> dg.ExecuteInProcessResult:
    return JOB.execute_in_process(
        run_id=run_id,
        instance=instance,
        raise_on_error=False,
        tags={ASSET_PARTITION_RANGE_START_TAG: KEYS[0], ASSET_PARTITION_RANGE_END_TAG: KEYS[-1]}
        | tags,
    )


def wal(instance: dg.DagsterInstance, shard: str) -> Path:
    return Path(instance.event_log_storage.path_for_shard(shard) + "-wal")


def materialized(instance: dg.DagsterInstance) -> set[str]:
    return set(instance.get_materialized_partitions(table.key))


def test_a_run_records_every_event_and_checkpoints_only_when_released(instance):
    run_id = str(uuid.uuid4())
    with event_log_kept_open(instance, run_id):
        assert run(instance, run_id).success
        # Dagster closed its own connection after each event; with ours held, none of those
        # closes folded the log back into the database.
        assert wal(instance, run_id).stat().st_size > 0
        assert wal(instance, INDEX_SHARD_NAME).stat().st_size > 0
        assert materialized(instance) == set(KEYS), "readable while held"
    assert not wal(instance, run_id).exists(), "released: the last close checkpoints"
    assert not wal(instance, INDEX_SHARD_NAME).exists()
    assert materialized(instance) == set(KEYS)
    assert len(instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)) == 5


def test_without_it_every_close_checkpoints(instance):
    """What the holder prevents, so this test notices if Dagster or SQLite stop doing it."""
    run_id = str(uuid.uuid4())
    assert run(instance, run_id).success
    assert not wal(instance, run_id).exists()
    assert materialized(instance) == set(KEYS)


def test_a_failed_run_releases_the_log_and_materializes_nothing(instance):
    run_id = str(uuid.uuid4())
    with event_log_kept_open(instance, run_id):
        assert not run(instance, run_id, fail="yes").success
    assert not wal(instance, run_id).exists()
    assert materialized(instance) == set()
    failed = instance.get_run_records(dg.RunsFilter(run_ids=[run_id]))[0].dagster_run
    assert failed.status == dg.DagsterRunStatus.FAILURE


def test_an_error_inside_releases_the_log(instance):
    run_id = str(uuid.uuid4())
    with pytest.raises(KeyError), event_log_kept_open(instance, run_id):
        assert run(instance, run_id).success
        raise KeyError("the caller fails")
    assert not wal(instance, run_id).exists()
    assert not wal(instance, INDEX_SHARD_NAME).exists()


def test_other_storage_is_left_alone():
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(PARTITIONS.name, KEYS)
        run_id = str(uuid.uuid4())
        with event_log_kept_open(instance, run_id):
            assert run(instance, run_id).success
        assert materialized(instance) == set(KEYS)


def test_on_postgresql_nothing_is_held_and_every_event_is_recorded(postgres_home):  # noqa: F811
    """PostgreSQL checkpoints nothing on a close: the holder must not touch it (nor create SQLite
    shards beside its ``dagster.yaml``), and the run's events all reach the database."""
    with postgres_home.instance() as instance:
        instance.add_dynamic_partitions(PARTITIONS.name, KEYS)
        run_id = str(uuid.uuid4())
        with event_log_kept_open(instance, run_id):
            assert run(instance, run_id).success
        assert materialized(instance) == set(KEYS)
        events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        assert len(events) == len(KEYS)
    assert [p.name for p in postgres_home.path.rglob("*") if p.suffix in (".db", ".db-wal")] == []
