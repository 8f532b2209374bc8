"""The event store: durable across reopenings, idempotent by event id under concurrent writers,
ordered by arrival, and a reader that never creates a file."""

from __future__ import annotations

import sqlite3
import threading

from invivo_pipeline.sources.invivo.webhooks.store import (
    _SCHEMA,
    DROPPED,
    HELD,
    QUARANTINED,
    EventStore,
    SetAsideEvent,
    webhook_db_path,
)


def _add(store: EventStore, n: int, event: str = "study.updated") -> bool:
    return store.add(f"whe_{n}", event, None, f'{{"id": "whe_{n}"}}'.encode())


def test_events_come_back_in_arrival_order_after_a_cursor(tmp_path):
    store = EventStore(tmp_path / "e.sqlite")
    for n in (5, 3, 9):
        assert _add(store, n)

    assert [e.event_id for e in store.since(0)] == ["whe_5", "whe_3", "whe_9"]
    assert [e.event_id for e in store.since(1)] == ["whe_3", "whe_9"]
    assert [e.event_id for e in store.since(0, limit=2)] == ["whe_5", "whe_3"]
    assert store.since(3) == []
    assert store.last_seq() == 3


def test_a_duplicate_is_ignored_and_sequence_numbers_only_grow(tmp_path):
    store = EventStore(tmp_path / "e.sqlite")

    assert _add(store, 1) is True
    assert _add(store, 1) is False
    assert _add(store, 2) is True

    events = store.since(0)
    assert [e.event_id for e in events] == ["whe_1", "whe_2"]
    assert events[0].seq < events[1].seq, "a cursor past whe_1 never misses whe_2 (gaps allowed)"


def test_concurrent_deliveries_of_the_same_events_store_each_once(tmp_path):
    store = EventStore(tmp_path / "e.sqlite")
    stored: list[bool] = []

    def deliver() -> None:
        results = [_add(store, n) for n in range(50)]
        stored.extend(results)
        store.close()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert store.count() == 50
    assert sum(stored) == 50, "exactly one delivery of each event reported it as new"


def test_events_survive_a_new_process_opening_the_file(tmp_path):
    path = tmp_path / "e.sqlite"
    writer = EventStore(path)
    _add(writer, 1, "animal.measurement.created")
    writer.close()

    reader = EventStore(path, create=False)
    (event,) = reader.since(0)
    assert (event.event_id, event.event, event.envelope) == (
        "whe_1",
        "animal.measurement.created",
        {"id": "whe_1"},
    )
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_reader_without_a_store_sees_nothing_and_creates_nothing(tmp_path):
    path = tmp_path / "missing" / "e.sqlite"
    store = EventStore(path, create=False)

    assert (store.since(0), store.last_seq(), store.count()) == ([], 0, 0)
    assert not path.exists() and not path.parent.exists()


def test_the_path_comes_from_the_environment():
    assert str(webhook_db_path({})) == "data/webhook_events.sqlite"
    assert str(webhook_db_path({"INVIVO_WEBHOOK_DB": "/x/y.sqlite"})) == "/x/y.sqlite"


def test_set_aside_events_are_kept_with_their_reason_and_a_retried_tick_changes_nothing(tmp_path):
    store = EventStore(tmp_path / "e.sqlite")
    for n in (1, 2, 3):
        _add(store, n)
    held = SetAsideEvent(1, "whe_1", "study.updated", HELD, "not registered", "sdy_x", "t1")
    poison = SetAsideEvent(2, "whe_2", "study.updated", QUARANTINED, "too deep", None, "t1")
    other = SetAsideEvent(3, "whe_3", "study.updated", HELD, "not registered", "sdy_y", "t1")

    store.record_set_aside([held, poison, other])
    store.record_set_aside([SetAsideEvent(2, "whe_2", "study.updated", HELD, "again", "s", "t2")])
    store.record_set_aside(
        released=[1], dropped=[SetAsideEvent(3, "whe_3", "x", DROPPED, "waited 7 days", None, "t3")]
    )

    assert store.set_aside(QUARANTINED) == [poison], "the first entry is kept"
    assert store.set_aside(HELD) == []
    (dropped,) = store.set_aside(DROPPED)
    assert (dropped.seq, dropped.reason, dropped.since, dropped.study_id) == (
        3,
        "waited 7 days",
        "t3",
        "sdy_y",
    )
    assert store.set_aside_counts() == {"dropped": 1, "quarantined": 1}
    assert store.count() == 3, "setting aside never deletes the event itself"


def test_a_store_made_before_set_aside_existed_gets_the_table_on_first_use(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:
        con.execute(_SCHEMA)

    reader = EventStore(path, create=False)

    assert reader.set_aside() == [] and reader.set_aside_counts() == {}
