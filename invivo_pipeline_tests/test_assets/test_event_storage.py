"""The event log of ``deploy/dagster.yaml``: Dagster's SQLite files, each connection kept between
events. What it writes, Dagster's own storage reads; the UI can follow a run while the connection
stays open; it holds a bounded number of files open; and it lets go of them where Dagster deletes
files or a process forks. A batch of events (a run's planned events, an asset's materializations
over a run's partitions) is stored whole or not at all, in one transaction per file."""

import multiprocessing
import os
import sqlite3
import time
import uuid
from contextlib import suppress
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)

from invivo_pipeline.assets.event_storage import (
    EVENT_BATCH_SIZE_ENV,
    MAX_OPEN_SHARDS,
    PooledSqliteEventLogStorage,
    shards_folder,
)
from invivo_pipeline.cli.instance import command_instance

TABLE = dg.AssetKey(["invivo_raw", "measurements"])


def materialization(run_id: str, partition: str) -> EventLogEntry:
    event = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
        job_name="invivo_ingest_study",
        event_specific_data=StepMaterializationData(
            dg.AssetMaterialization(asset_key=TABLE, partition=partition)
        ),
    )
    return EventLogEntry(
        error_info=None,
        level=20,
        user_message="",
        run_id=run_id,
        timestamp=time.time(),
        dagster_event=event,
    )


@pytest.fixture(autouse=True)
def batch_size_env_restored():
    """The storage sets Dagster's batch size for its process: not for the tests after these."""
    saved = os.environ.pop(EVENT_BATCH_SIZE_ENV, None)
    yield
    os.environ.pop(EVENT_BATCH_SIZE_ENV, None)
    if saved is not None:
        os.environ[EVENT_BATCH_SIZE_ENV] = saved


@pytest.fixture
def storage(tmp_path):
    pooled = PooledSqliteEventLogStorage(str(shards_folder(tmp_path)))
    yield pooled
    pooled.dispose()


def test_the_deployed_instance_keeps_its_event_log_where_dagster_does(deployed, tmp_path):
    assert isinstance(deployed.event_log_storage, PooledSqliteEventLogStorage)
    run_id = str(uuid.uuid4())
    deployed.event_log_storage.store_event(materialization(run_id, "study-1"))
    assert Path(deployed.event_log_storage.path_for_shard(run_id)).parent == (
        tmp_path / "history" / "runs"
    )
    # Dagster's own storage of the folder (no storage configured) finds the event.
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(tmp_path)) as plain:
        assert type(plain.event_log_storage) is SqliteEventLogStorage
        assert plain.get_materialized_partitions(TABLE) == {"study-1"}


def test_a_sync_without_dagster_yaml_uses_it_too(tmp_path):
    with command_instance({"DAGSTER_HOME": str(tmp_path)}) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert not instance.telemetry_enabled
        instance.event_log_storage.store_event(materialization(str(uuid.uuid4()), "study-1"))
    assert (tmp_path / "history" / "runs" / f"{INDEX_SHARD_NAME}.db").exists()


def test_events_use_one_connection_per_file_and_every_one_is_stored(storage, monkeypatch):
    opened = []
    connect = sqlite3.dbapi2.connect
    monkeypatch.setattr(
        sqlite3.dbapi2, "connect", lambda *a, **k: opened.append(a) or connect(*a, **k)
    )
    run_id = str(uuid.uuid4())
    for i in range(40):
        storage.store_event(materialization(run_id, f"study-{i}"))
    # Dagster's own storage opens two connections per event (the run's file and the index).
    assert len(opened) <= 2, opened
    assert set(storage.open_shards()) == {INDEX_SHARD_NAME, run_id}
    plain = SqliteEventLogStorage(storage._base_dir)
    assert len(plain.get_records_for_run(run_id).records) == 40
    assert plain.get_materialized_partitions(TABLE) == {f"study-{i}" for i in range(40)}


def test_the_ui_follows_a_running_run_while_its_connection_stays_open(storage):
    """The webserver watches the run's ``.db`` file: each write must reach it, not only the WAL."""
    run_id = str(uuid.uuid4())
    storage.store_event(materialization(run_id, "study-0"))
    webserver = SqliteEventLogStorage(storage._base_dir)
    seen: list[str] = []
    webserver.watch(run_id, None, lambda entry, cursor: seen.append(entry.run_id))
    try:
        time.sleep(0.5)  # the file watcher is up
        for i in range(1, 6):
            storage.store_event(materialization(run_id, f"study-{i}"))
            deadline = time.monotonic() + 10
            while len(seen) < i and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(seen) >= i, f"event {i} not seen while the writer holds its connection"
        assert run_id in storage.open_shards()
    finally:
        webserver.dispose()


def _open_files(folder: Path) -> list[str]:
    links = []
    for fd in os.listdir("/proc/self/fd"):
        with suppress(FileNotFoundError):  # the listing's own descriptor, closed by now
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
    return [link for link in links if link.startswith(str(folder)) and link.endswith(".db")]


def test_at_most_so_many_files_stay_open(storage, tmp_path):
    runs = [str(uuid.uuid4()) for _ in range(MAX_OPEN_SHARDS + 4)]
    for run_id in runs:
        storage.store_event(materialization(run_id, "study-1"))
    assert len(storage.open_shards()) == MAX_OPEN_SHARDS
    assert runs[-1] in storage.open_shards() and runs[0] not in storage.open_shards()
    assert len(_open_files(tmp_path)) == MAX_OPEN_SHARDS
    storage.dispose()
    assert _open_files(tmp_path) == []


def test_after_a_wipe_events_go_to_new_files(storage):
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    storage.store_event(materialization(old, "study-1"))
    storage.wipe()
    assert not Path(storage.path_for_shard(old)).exists()
    storage.store_event(materialization(new, "study-2"))
    plain = SqliteEventLogStorage(storage._base_dir)
    assert len(plain.get_records_for_run(new).records) == 1
    assert plain.get_materialized_partitions(TABLE) == {"study-2"}


def _store_in_child(storage: PooledSqliteEventLogStorage, run_id: str) -> None:
    storage.store_event(materialization(run_id, "from-the-child"))
    assert set(storage.open_shards()) == {INDEX_SHARD_NAME, run_id}  # its own, not the parent's


def test_a_forked_child_opens_its_own_connections(storage):
    parent_run, child_run = str(uuid.uuid4()), str(uuid.uuid4())
    storage.store_event(materialization(parent_run, "study-1"))
    child = multiprocessing.get_context("fork").Process(
        target=_store_in_child, args=(storage, child_run)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    storage.store_event(materialization(parent_run, "study-2"))
    assert storage.get_materialized_partitions(TABLE) == {"study-1", "study-2", "from-the-child"}


def test_a_batch_is_stored_whole_or_not_at_all(storage, monkeypatch):
    run_id = str(uuid.uuid4())
    events = [materialization(run_id, f"study-{i}") for i in range(30)]
    store_asset_event = storage._store_asset_event

    def fails_at_the_twentieth(conn, event, event_id):
        if event.dagster_event.partition == "study-19":
            raise sqlite3.OperationalError("disk I/O error")
        store_asset_event(conn, event, event_id)

    monkeypatch.setattr(storage, "_store_asset_event", fails_at_the_twentieth)
    with pytest.raises(sqlite3.OperationalError):
        storage.store_event_batch(events)
    # Nothing of it in either file: Dagster then stores the events one by one, none twice.
    plain = SqliteEventLogStorage(storage._base_dir)
    assert plain.get_records_for_run(run_id).records == []
    assert plain.get_materialized_partitions(TABLE) == set()
    monkeypatch.setattr(storage, "_store_asset_event", store_asset_event)
    storage.store_event_batch(events)
    assert len(plain.get_records_for_run(run_id).records) == 30
    assert plain.get_materialized_partitions(TABLE) == {f"study-{i}" for i in range(30)}


def test_a_batch_commits_once_per_file(storage, monkeypatch):
    run_id = str(uuid.uuid4())
    storage.store_event(materialization(run_id, "study-0"))  # the files exist, their schema too
    commits = []
    monkeypatch.setattr(
        "sqlalchemy.engine.Connection._commit_impl",
        lambda conn, *a, _commit=sqlalchemy.engine.Connection._commit_impl, **k: (
            commits.append(conn) or _commit(conn, *a, **k)
        ),
    )
    storage.store_event_batch([materialization(run_id, f"study-{i}") for i in range(1, 41)])
    assert len(commits) == 2  # the run's file and the index; one event alone commits twice
    assert len(SqliteEventLogStorage(storage._base_dir).get_records_for_run(run_id).records) == 41


STUDIES = dg.StaticPartitionsDefinition([f"study-{i}" for i in range(6)])


@dg.asset(key=TABLE, partitions_def=STUDIES, backfill_policy=dg.BackfillPolicy.single_run())
def measurements(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"partitions": len(context.partition_keys)})


def test_the_deployed_instance_stores_a_runs_partitions_in_batches(deployed, monkeypatch):
    assert os.environ[EVENT_BATCH_SIZE_ENV] == "1000"  # set by loading deploy/dagster.yaml
    storage = deployed.event_log_storage
    batches = []
    store_event_batch = storage.store_event_batch
    monkeypatch.setattr(
        storage,
        "store_event_batch",
        lambda events: batches.append(events) or store_event_batch(events),
    )
    result = dg.materialize(
        [measurements],
        instance=deployed,
        tags={
            "dagster/asset_partition_range_start": "study-0",
            "dagster/asset_partition_range_end": "study-5",
        },
    )
    assert result.success
    kinds = sorted(
        (events[0].dagster_event_type.value, len(events))
        for events in batches  # type: ignore[union-attr]
    )
    assert kinds == [("ASSET_MATERIALIZATION", 6), ("ASSET_MATERIALIZATION_PLANNED", 6)]
    plain_yaml = "telemetry:\n  enabled: false\n"
    home = Path(os.environ["DAGSTER_HOME"])
    (home / "dagster.yaml").write_text(plain_yaml)
    with dg.DagsterInstance.from_config(str(home)) as plain:
        assert plain.get_materialized_partitions(TABLE) == set(STUDIES.get_partition_keys())
