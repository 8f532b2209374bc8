"""Reports follow raw: the dbt models carry the follow-upstream condition and a running sensor
evaluates it; on a small graph shaped like ours the condition fires after a raw partition is
loaded and, unlike plain ``eager()``, is not frozen by a study that was never loaded."""

from __future__ import annotations

import dagster as dg

from invivo_pipeline.assets.follow_upstream import (
    FOLLOW_UPSTREAM,
    REPORT_GROUPS,
    follow_upstream,
    report_automation,
)
from invivo_pipeline.definitions import defs

STUDIES = dg.DynamicPartitionsDefinition(name="toy_study")


def test_every_report_asset_follows_upstream_and_raw_assets_do_not():
    graph = defs.resolve_asset_graph()
    reports = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name in REPORT_GROUPS]
    assert reports, "the dbt models are part of the code location"
    for key in graph.get_all_asset_keys():
        condition = graph.get(key).automation_condition
        if key in reports:
            assert condition == FOLLOW_UPSTREAM, key
        else:
            assert condition is None, f"{key}: raw assets are loaded by sensors and schedules"


def test_the_automation_sensor_runs_by_default_over_the_report_groups():
    repository = defs.get_repository_def()
    sensor = repository.get_sensor_def("invivo_reports_follow_raw")
    assert sensor is report_automation
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    graph = defs.resolve_asset_graph()
    targeted = sensor.asset_selection.resolve(graph)
    assert targeted == {
        k for k in graph.get_all_asset_keys() if graph.get(k).group_name in REPORT_GROUPS
    }


def test_an_asset_with_its_own_condition_keeps_it():
    own = dg.AutomationCondition.on_cron("0 * * * *")

    @dg.asset(group_name="marts", automation_condition=own)
    def hourly_mart() -> None: ...

    graph = dg.Definitions(assets=follow_upstream([hourly_mart])).resolve_asset_graph()
    assert graph.get(hourly_mart.key).automation_condition == own


def _toy(condition: dg.AutomationCondition | None = None) -> dg.Definitions:
    """A raw asset partitioned by study and an unpartitioned mart built from it."""

    @dg.asset(partitions_def=STUDIES, group_name="invivo_raw")
    def raw_measurements() -> None: ...

    @dg.asset(deps=[raw_measurements], group_name="marts", automation_condition=condition)
    def fct_animal_day() -> None: ...

    return dg.Definitions(assets=follow_upstream([raw_measurements, fct_animal_day]))


def _load_one_study_twice(toy: dg.Definitions) -> int:
    """Build the report once, then load study a again; how many runs does automation ask for?"""
    raw, mart = toy.resolve_assets_def("raw_measurements"), toy.resolve_assets_def("fct_animal_day")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("toy_study", ["sdy_a", "sdy_b"])  # b never loads
        dg.materialize([raw], instance=instance, partition_key="sdy_a")
        dg.materialize([mart], instance=instance)
        first = dg.evaluate_automation_conditions(defs=toy, instance=instance)
        assert first.total_requested == 0, "nothing new since the report was built"

        dg.materialize([raw], instance=instance, partition_key="sdy_a")
        after = dg.evaluate_automation_conditions(defs=toy, instance=instance, cursor=first.cursor)
        return after.total_requested


def test_the_report_follows_a_loaded_study_even_if_another_never_loaded():
    assert _load_one_study_twice(_toy()) == 1


def test_plain_eager_would_freeze_the_report_on_the_study_never_loaded():
    assert _load_one_study_twice(_toy(dg.AutomationCondition.eager())) == 0
