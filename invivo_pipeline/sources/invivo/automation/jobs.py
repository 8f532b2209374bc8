"""The jobs sensors and schedules launch: one study partition, or some global tables.

Both select from the same ``invivo_ingestion`` step, so a run still loads in one transaction and
queues on the warehouse's writer lock behind any other run. A study run always refreshes the
whole partition (every per-study table): a study's tables embed each other's records (an animal
in each measurement), so refreshing one table alone could leave another stale, and reloading an
unchanged table rewrites nothing.

A webhook's study run also builds the marts and reports (``STUDY_FOLLOW_JOB``): the events name
the studies that changed, and dbt and the reports rebuild only those studies (issue 19), so the
new data reaches the marts and the study pages in the same run instead of waiting for the
automation sensor's next tick and a run of its own.
"""

from __future__ import annotations

import dagster as dg

from invivo_pipeline.assets.dbt import invivo_dbt
from invivo_pipeline.assets.report_pages import invivo_reports
from invivo_pipeline.sources.invivo.assets import asset_key
from invivo_pipeline.sources.invivo.ingest import GLOBAL_NAMES, STUDY_NAMES

FULL_JOB = "invivo_ingest"
"""Defined in ``definitions.py``: every asset; the daily reconcile runs it over every study."""
SYNC_JOB = "invivo_sync"
"""Defined in ``definitions.py``: what ``invivo sync`` runs (every asset, dbt and reports)."""
STUDY_JOB = "invivo_ingest_study"
STUDY_FOLLOW_JOB = "invivo_ingest_study_and_report"
GLOBAL_JOB = "invivo_ingest_global"

STUDY_KEYS = [asset_key(name) for name in STUDY_NAMES]
GLOBAL_KEYS = [asset_key(name) for name in GLOBAL_NAMES]


ingest_study = dg.define_asset_job(
    STUDY_JOB,
    selection=dg.AssetSelection.assets(*STUDY_KEYS),
    description="Every per-study table of one study partition, in one transaction.",
    # One step: a step subprocess would only add a second Python start-up to every run.
    executor_def=dg.in_process_executor,
)

ingest_study_and_report = dg.define_asset_job(
    STUDY_FOLLOW_JOB,
    selection=dg.AssetSelection.assets(*STUDY_KEYS)
    | dg.AssetSelection.assets(invivo_dbt, invivo_reports),
    description="Every per-study table of the studies a webhook named, then the dbt models and "
    "the reports of those studies, in one run.",
    executor_def=dg.in_process_executor,
)

ingest_global = dg.define_asset_job(
    GLOBAL_JOB,
    selection=dg.AssetSelection.assets(*GLOBAL_KEYS),
    description="The global tables (or the subset a run selects); loading `studies` also purges "
    "the rows of studies the API no longer lists.",
    executor_def=dg.in_process_executor,
)

JOBS = [ingest_study, ingest_study_and_report, ingest_global]
