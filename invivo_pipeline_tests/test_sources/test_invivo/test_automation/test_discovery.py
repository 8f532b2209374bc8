"""The discovery planner and the change probe, as pure functions: what a listing and a set of
totals mean for partitions and refreshes, and what the cursor remembers."""

from __future__ import annotations

from invivo_pipeline.sources.invivo.automation.discovery import (
    DiscoveryCursor,
    ListedStudy,
    apply_probe,
    expected_requests,
    plan_discovery,
    probe_due,
)

RES = ["measurements", "dosages", "observations", "samples"]


def study(id_: str, updated: str = "t1", status: str = "in_progress") -> ListedStudy:
    return ListedStudy(id_, updated, status)


def cursor_for(*studies: ListedStudy, totals=None, probed_at=None) -> DiscoveryCursor:
    return DiscoveryCursor(
        tick=7,
        studies={s.id: [s.updated_at, s.status] for s in studies},
        totals=totals or {},
        probe_resources=list(RES),
        probed_at=probed_at,
    )


def test_a_first_tick_registers_and_loads_every_unknown_study():
    listed = [study("a"), study("b", status="completed")]

    plan = plan_discovery(listed, DiscoveryCursor(), registered=[], materialized=[])

    assert plan.add_partitions == ["a", "b"]
    assert [(r.study_id, r.reason) for r in plan.refresh] == [
        ("a", "new study"),
        ("b", "new study"),
    ]
    assert plan.refresh_globals
    assert plan.cursor.studies == {"a": ["t1", "in_progress"], "b": ["t1", "completed"]}
    assert plan.cursor.tick == 1


def test_studies_already_loaded_only_set_the_baseline():
    listed = [study("a"), study("b")]

    plan = plan_discovery(listed, DiscoveryCursor(), registered=["a", "b"], materialized=["a"])

    assert plan.add_partitions == []
    assert [(r.study_id, r.reason) for r in plan.refresh] == [("b", "never loaded")]


def test_a_quiet_listing_plans_nothing():
    listed = [study("a"), study("b")]

    plan = plan_discovery(listed, cursor_for(*listed), registered=["a", "b"], materialized=["a"])

    assert plan.quiet
    assert plan.refresh == [] and not plan.refresh_globals
    assert plan.cursor.tick == 8
    assert "nothing changed" in plan.summary()


def test_a_changed_updated_at_or_status_reloads_the_study_and_the_studies_table():
    old = [study("a"), study("b"), study("c")]
    new = [study("a", updated="t2"), study("b", status="completed"), study("c")]

    plan = plan_discovery(new, cursor_for(*old), registered=["a", "b", "c"], materialized=[])

    assert [(r.study_id, r.reason) for r in plan.refresh] == [
        ("a", "study updated"),
        ("b", "study updated"),
    ]
    assert plan.refresh_globals and plan.add_partitions == []


def test_a_deferred_study_is_found_changed_again_by_the_next_tick():
    """A study a run is loading is left out of this tick's refresh (issue 19: a run for it now
    would be a run of its own) and forgotten by the cursor, listing and totals alike, so the
    next tick, once that run has ended, finds the same change again."""
    old = [study("a"), study("b")]
    cursor = cursor_for(*old, totals={"a": [10, 5, 3, 0], "b": [7, 7, 7, 7]})
    new = [study("a", updated="t2"), study("b")]
    plan = plan_discovery(new, cursor, registered=["a", "b"], materialized=["a", "b"])
    apply_probe(plan, {"a": [10, 5, 3, 0], "b": [9, 7, 7, 7]}, RES, now=200.0)

    deferred = plan.defer({"a", "b"}, cursor)
    again = plan_discovery(new, plan.cursor, registered=["a", "b"], materialized=["a", "b"])
    apply_probe(again, {"a": [10, 5, 3, 0], "b": [9, 7, 7, 7]}, RES, now=260.0)

    assert deferred == ["a", "b"] and plan.refresh == []
    assert "2 left for after the run loading them" in plan.summary()
    assert plan.cursor.studies["a"] == ["t1", "in_progress"]
    assert plan.cursor.totals["b"] == [7, 7, 7, 7]
    assert [r.study_id for r in again.refresh] == ["a", "b"]


def test_a_vanished_study_drops_its_partition_and_reloads_studies_to_purge_it():
    old = [study("a"), study("b")]

    plan = plan_discovery(
        [study("a")], cursor_for(*old), registered=["a", "b", "x"], materialized=[]
    )

    assert plan.delete_partitions == ["b", "x"]
    assert plan.refresh == []
    assert plan.refresh_globals
    assert "b" not in plan.cursor.studies


def test_the_first_probe_of_a_study_is_a_baseline_not_a_refresh():
    listed = [study("a")]
    plan = plan_discovery(listed, cursor_for(*listed), registered=["a"], materialized=["a"])

    apply_probe(plan, {"a": [10, 5, 3, 0]}, RES, now=100.0)

    assert plan.refresh == []
    assert plan.cursor.totals == {"a": [10, 5, 3, 0]}
    assert (plan.cursor.probed_at, plan.probed) == (100.0, 1)


def test_moved_totals_reload_the_study_and_say_which_lists_moved():
    listed = [study("a"), study("b")]
    cursor = cursor_for(*listed, totals={"a": [10, 5, 3, 0], "b": [7, 7, 7, 7]})
    plan = plan_discovery(listed, cursor, registered=["a", "b"], materialized=["a", "b"])

    apply_probe(plan, {"a": [12, 5, 4, 0], "b": [7, 7, 7, 6]}, RES, now=200.0)

    assert [(r.study_id, r.reason) for r in plan.refresh] == [
        ("a", "probe: measurements 10→12, observations 3→4"),
        ("b", "probe: samples 7→6"),
    ]
    assert not plan.refresh_globals, "child lists are per-study tables only"
    assert plan.cursor.totals["a"] == [12, 5, 4, 0]


def test_a_study_already_refreshed_is_not_refreshed_twice_by_the_probe():
    old = study("a")
    cursor = cursor_for(old, totals={"a": [1, 1, 1, 1]})
    plan = plan_discovery([study("a", "t2")], cursor, registered=["a"], materialized=["a"])

    apply_probe(plan, {"a": [2, 1, 1, 1]}, RES, now=1.0)

    assert [r.reason for r in plan.refresh] == ["study updated"]


def test_changing_the_watched_lists_resets_the_baseline():
    listed = [study("a")]
    cursor = cursor_for(*listed, totals={"a": [1, 2, 3, 4]})
    plan = plan_discovery(listed, cursor, registered=["a"], materialized=["a"])

    apply_probe(plan, {"a": [9]}, ["measurements"], now=1.0)

    assert plan.refresh == []
    assert plan.cursor.totals == {"a": [9]}
    assert plan.cursor.probe_resources == ["measurements"]


def test_studies_no_longer_probed_drop_out_of_the_totals():
    listed = [study("a"), study("b", status="completed")]
    cursor = cursor_for(*listed, totals={"a": [1, 1, 1, 1], "b": [2, 2, 2, 2]})
    plan = plan_discovery(listed, cursor, registered=["a", "b"], materialized=["a", "b"])

    apply_probe(plan, {"a": [1, 1, 1, 1], "gone": None}, RES, now=1.0)

    assert plan.cursor.totals == {"a": [1, 1, 1, 1]}
    assert plan.refresh == []


def test_the_probe_is_due_on_the_first_tick_and_then_every_interval():
    assert probe_due(DiscoveryCursor(), 300, now=0.0)
    assert not probe_due(DiscoveryCursor(probed_at=1000.0), 300, now=1299.0)
    assert probe_due(DiscoveryCursor(probed_at=1000.0), 300, now=1300.0)
    assert probe_due(DiscoveryCursor(probed_at=1000.0), 0, now=1000.0)


def test_the_cursor_round_trips_and_an_unreadable_one_starts_afresh():
    cursor = cursor_for(study("a"), totals={"a": [1, 2, 3, 4]}, probed_at=5.5)

    assert DiscoveryCursor.from_json(cursor.to_json()) == cursor
    for raw in (None, "", "not json", '{"v": 99}', '{"v": 1}', "[]"):
        assert DiscoveryCursor.from_json(raw) == DiscoveryCursor()


def test_the_documented_cost_of_a_tick():
    assert expected_requests(studies=5, in_progress=3, probes=0) == 2
    assert expected_requests(studies=5, in_progress=3, probes=4) == 14
    assert expected_requests(studies=250, in_progress=40, probes=4) == 3 + 1 + 160
    assert expected_requests(studies=0, in_progress=0, probes=4) == 2
