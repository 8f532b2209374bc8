"""What ``dagster dev`` gets: jobs, sensors and schedules that run with no manual step, tuned by
``INVIVO_*`` variables that are checked when the code location loads."""

from __future__ import annotations

import pytest

from invivo_pipeline.definitions import defs
from invivo_pipeline.sources.invivo.automation.jobs import GLOBAL_KEYS, STUDY_KEYS
from invivo_pipeline.sources.invivo.automation.settings import (
    AutomationConfigError,
    AutomationSettings,
)


def test_sensors_and_schedules_are_running_by_default():
    repository = defs.get_repository_def()
    sensors = {s.name: s for s in repository.sensor_defs}
    schedules = {s.name: s for s in repository.schedule_defs}
    assert set(sensors) >= {
        "invivo_study_discovery",
        "invivo_webhook_events",
        "invivo_reports_follow_raw",
    }
    assert set(schedules) == {
        "invivo_reconcile_daily",
        "invivo_refresh_finished_weekly",
        "cytobank_refresh_daily",
    }
    for definition in [*sensors.values(), *schedules.values()]:
        assert definition.default_status.value == "RUNNING", definition.name
    assert schedules["invivo_reconcile_daily"].cron_schedule == "0 2 * * *"
    assert schedules["invivo_refresh_finished_weekly"].cron_schedule == "0 3 * * 0"
    assert schedules["cytobank_refresh_daily"].cron_schedule == "0 2 * * *"


def test_the_jobs_split_the_ingestion_by_scope():
    study = defs.resolve_job_def("invivo_ingest_study")
    global_ = defs.resolve_job_def("invivo_ingest_global")
    assert study.partitions_def is not None and study.partitions_def.name == "study"
    assert global_.partitions_def is None
    assert set(study.asset_layer.executable_asset_keys) == set(STUDY_KEYS)
    assert set(global_.asset_layer.executable_asset_keys) == set(GLOBAL_KEYS)


def test_defaults():
    settings = AutomationSettings.from_env({})
    assert (settings.discovery_interval_s, settings.webhook_interval_s) == (60, 5)
    assert (settings.probe_interval_s, settings.automation_interval_s) == (300, 30)
    assert settings.probe_resources == ("measurements", "dosages", "observations", "samples")
    assert settings.daily_scope == "active"
    assert settings.webhook_settle_s == 2


def test_every_knob_comes_from_the_environment():
    settings = AutomationSettings.from_env(
        {
            "INVIVO_SENSOR_INTERVAL_S": "5",
            "INVIVO_WEBHOOK_SENSOR_INTERVAL_S": "2",
            "INVIVO_PROBE_INTERVAL_S": "0",
            "INVIVO_PROBE_RESOURCES": "measurements, samples",
            "INVIVO_AUTOMATION_INTERVAL_S": "7",
            "INVIVO_RECONCILE_CRON": "30 1 * * *",
            "INVIVO_DAILY_RECONCILE": "all",
            "INVIVO_FINISHED_CRON": "0 4 * * 6",
            "INVIVO_SCHEDULE_TIMEZONE": "Europe/Paris",
            "INVIVO_MAX_EVENTS_PER_TICK": "100",
            "INVIVO_WEBHOOK_SETTLE_S": "0",
        }
    )
    assert settings == AutomationSettings(
        5,
        2,
        0,
        ("measurements", "samples"),
        7,
        "30 1 * * *",
        "all",
        "0 4 * * 6",
        "Europe/Paris",
        100,
        0,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INVIVO_SENSOR_INTERVAL_S", "soon", "whole number"),
        ("INVIVO_WEBHOOK_SENSOR_INTERVAL_S", "0", "at least 1"),
        ("INVIVO_PROBE_INTERVAL_S", "-1", "at least 0"),
        ("INVIVO_PROBE_RESOURCES", "studies,animal", "not per-study lists"),
        ("INVIVO_PROBE_RESOURCES", "study_presets", "not per-study lists"),
        ("INVIVO_DAILY_RECONCILE", "some", "one of active, all"),
    ],
)
def test_a_wrong_value_fails_the_load_with_its_name(name, value, message):
    with pytest.raises(AutomationConfigError, match=message) as error:
        AutomationSettings.from_env({name: value})
    assert name in str(error.value)
