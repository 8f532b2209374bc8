"""``invivo sync``: discover studies, register their partitions, materialize every ingestion asset,
then build every dbt model and test.

It runs the Dagster job ``invivo_sync`` in this process (one run: the ingestion step in one
transaction, then the ``dbt build`` step), so what it loads and builds is recorded as asset
materializations and checks in the Dagster instance: the persistent one under ``DAGSTER_HOME`` when
that is set (the UI then shows the sync), else a throwaway one.
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from invivo_pipeline.assets import run_observers as observers
from invivo_pipeline.assets.event_log import event_log_kept_open
from invivo_pipeline.assets.partition_runs import register_partitions
from invivo_pipeline.cli.cytobank_sync import CytobankSyncSummary, sync_cytobank
from invivo_pipeline.cli.instance import command_instance
from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.core.partition_keys import usable_keys
from invivo_pipeline.sources.invivo.assets import asset_key
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.sources.invivo.ingest import GLOBAL_NAMES
from invivo_pipeline.sources.invivo.partitions import STUDY_PARTITIONS_NAME
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import TableLoadResult, Warehouse, default_duckdb_path
from invivo_pipeline.warehouse.duckdb_file import existing_tables, open_reader
from invivo_pipeline.warehouse.ingest_run import IngestRun
from invivo_pipeline.warehouse.publish import publish


def run_config(wh: Warehouse, *, full_refresh: bool = False) -> dict[str, Any]:
    """Only the path (and a full refresh) goes into run config: run config is stored with the run
    and shown in the UI, so the API credentials reach the run through the resources' EnvVars.
    The terminal shows progress, a summary and failed checks, or the one line that says why the
    run failed; the full event log stays in the Dagster instance."""
    config: dict[str, Any] = {
        "resources": {"warehouse": {"config": {"path": str(wh.path)}}},
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
    }
    if full_refresh:
        config["ops"] = {"invivo_dbt": {"config": {"full_refresh": True}}}
    return config


class SyncFailed(Exception):
    """The run failed; the message is the one line to show the user."""


@dataclass
class SyncSummary:
    studies: int
    rows: dict[str, int]
    requests: int
    minimum_requests: int
    retries: int
    seconds: float
    run: IngestRun
    discovery_requests: int
    warehouse_path: str
    dagster_run_id: str
    changed_tables: list[str] = field(default_factory=list)
    dbt_models: int = 0
    """dbt models built by the run's ``dbt build`` step."""
    dbt_tests_passed: int = 0
    dbt_tests_warned: int = 0
    """Warn-severity dbt tests that failed (an error-severity failure fails the sync instead)."""
    dq_findings: int = 0
    """Data-quality findings on the tenant's records: the rows of ``marts.dq_findings``."""
    dbt_up_to_date: bool = False
    """No input changed since the last build, so dbt did not run: the marts are as they were."""
    cytobank: CytobankSyncSummary | None = None
    """The Cytobank load, when ``CYTOBANK_BASE_URL`` is set; it runs before the In Vivo run."""
    published: Path | None = None
    """The read copy analysts open, published after the run succeeded (``warehouse.publish``)."""
    refused_ids: list[str] = field(default_factory=list)
    """One line per study id the API sent that cannot be a partition key (that study's tables
    are not loaded; every other study is)."""
    figures_failed: dict[str, dict[str, str]] = field(default_factory=dict)
    """study_id → the figures the reports could not draw (kind → why); their pages say so."""

    @property
    def request_ratio(self) -> float:
        return self.requests / self.minimum_requests if self.minimum_requests else 1.0


class _Collector:
    def __init__(self, on_partition: Any) -> None:
        self.run: IngestRun | None = None
        self._on_partition = on_partition

    def partition_done(self, study_id: str | None, results: list[TableLoadResult]) -> None:
        if self._on_partition is not None:
            self._on_partition(study_id, results)

    def run_done(self, run: IngestRun) -> None:
        self.run = run


def instance() -> dg.DagsterInstance:
    return command_instance()


async def _discover(config: ClientConfig) -> tuple[list[object], int]:
    async with InVivoClient(config) as client:
        ids = await client.list_study_ids()
        return ids, client.metrics.requests


@contextmanager
def _quiet_integration_logs() -> Iterator[None]:
    """The command's output is the progress bar and the summary, unless ``-v`` asked for detail.

    dagster-dbt narrates each dbt command on the ``dagster.builtin`` logger and re-emits every dbt
    event on ``sys.stdout``; both go to the run's event log anyway, so here they are held back.
    """
    logger = logging.getLogger("dagster.builtin")
    level = logger.level
    verbose = logging.getLogger().getEffectiveLevel() <= logging.INFO
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        with nullcontext() if verbose else redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def _failure_line(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.error
            while (
                error is not None
                and error.cause is not None
                and "dagster" in error.cls_name.lower()
            ):
                error = error.cause
            if error is not None:
                message = error.message.strip().splitlines()[0]
                # "ClassName: text" or "package.module.ClassName: text" -> "text"
                prefix, _, text = message.partition(": ")
                return text if text and prefix.rsplit(".", 1)[-1] == error.cls_name else message
    return "the Dagster run failed; see its logs"


def dq_finding_count(checks: Iterable[dg.AssetCheckEvaluation]) -> int:
    """The data-quality findings among a run's check results: the failing rows of the failed
    data-quality tests, each of which is a row of ``marts.dq_findings``."""
    from invivo_pipeline.assets.dbt import DQ_TESTS

    total = 0
    for check in checks:
        if not check.passed and check.check_name in DQ_TESTS:
            value = check.metadata.get("dagster_dbt/failed_row_count")
            total += int(getattr(value, "value", value) or 0)
    return total


def _dq_rows(db_path: Path) -> int:
    with open_reader(db_path) as con:
        present = existing_tables(con, {"marts"})
        if ("marts", "dq_findings") not in present:
            return 0
        return int(con.execute("select count(*) from marts.dq_findings").fetchall()[0][0])


def sync_everything(
    *,
    warehouse: Warehouse | None = None,
    on_discovered: Any = None,
    on_partition: Any = None,
    inst: dg.DagsterInstance | None = None,
    full_refresh: bool = False,
) -> SyncSummary:
    from invivo_pipeline.assets.dbt import MODEL_KEYS, invivo_dbt
    from invivo_pipeline.assets.dbt_metadata import UP_TO_DATE_KEY
    from invivo_pipeline.assets.report_pages import STUDY_REPORTS, invivo_reports
    from invivo_pipeline.definitions import defs  # heavy import, only for this command

    started = time.perf_counter()
    # The same environment the run's resources read (EnvVar), validated here so that a missing
    # variable or a plain-http URL fails in one line before Dagster starts.
    config = ClientConfig.from_env()
    wh = warehouse or Warehouse(default_duckdb_path(), resources=RESOURCES)
    listed, discovery_requests = run_sync(_discover(config))
    study_ids, refused = usable_keys(listed)
    if on_discovered is not None:
        on_discovered(study_ids)
    inst = inst or instance()
    register_partitions(inst, STUDY_PARTITIONS_NAME, study_ids)
    with _quiet_integration_logs():
        cytobank = sync_cytobank(inst, wh, _failure_line)
    job = defs.resolve_job_def("invivo_sync")
    collector = _Collector(on_partition)
    tags: dict[str, str] = {}
    selection = None
    if study_ids:
        tags = _range_of(inst, study_ids)
    else:
        selection = [
            *(asset_key(name) for name in GLOBAL_NAMES),
            *invivo_dbt.keys,
            *invivo_reports.keys,
        ]
    run_id = str(uuid.uuid4())
    with (
        observers.observing(collector),
        _quiet_integration_logs(),
        event_log_kept_open(inst, run_id),
    ):
        result = job.execute_in_process(
            run_id=run_id,
            instance=inst,
            tags=tags,
            asset_selection=selection,
            raise_on_error=False,
            run_config=run_config(wh, full_refresh=full_refresh),
        )
    if not result.success or collector.run is None:
        raise SyncFailed(_failure_line(result))
    # Only a run that succeeded reaches here: a failed one publishes nothing.
    published = publish(wh.path, lock_timeout=wh.lock_timeout, busy_timeout=wh.busy_timeout)
    run = collector.run
    metrics = run.metrics
    models = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key in MODEL_KEYS
    ]
    built = {m.asset_key for m in models if UP_TO_DATE_KEY not in m.metadata}
    dbt_checks = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.asset_key in invivo_dbt.keys
    ]
    pages = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == STUDY_REPORTS
    ]
    failed = pages[0].metadata.get("figures_failed") if pages else None
    run_requests = int(metrics["requests"])
    return SyncSummary(
        studies=len(study_ids),
        rows=wh.row_counts(),
        requests=run_requests + discovery_requests,
        # What any client must spend: every page once at the granted size, plus one token.
        minimum_requests=int(metrics["minimum_requests"]) + 1,
        retries=int(metrics["retries"]),
        seconds=time.perf_counter() - started,
        run=run,
        discovery_requests=discovery_requests,
        warehouse_path=str(wh.path),
        dagster_run_id=result.run_id,
        changed_tables=sorted({r.table for r in run.loads if not r.unchanged}),
        dbt_models=len(built),
        dbt_tests_passed=sum(c.passed for c in dbt_checks),
        dbt_tests_warned=sum(not c.passed for c in dbt_checks),
        # With no build, no test ran: the findings are the ones the last build left.
        dq_findings=dq_finding_count(dbt_checks) if built else _dq_rows(wh.path),
        dbt_up_to_date=bool(models) and not built,
        cytobank=cytobank,
        published=published.path,
        refused_ids=refused,
        figures_failed=dict(failed.value) if failed is not None else {},
    )


def _range_of(inst: dg.DagsterInstance, study_ids: list[str]) -> dict[str, str]:
    """Run tags selecting every study in ``study_ids``, read off the registered order.

    Just registered, they are the whole registered set, so one range covers exactly them. Only
    when a sensor registered a study in between and a running run pins it in place do they take
    more than one range; the run then spans them (that study exists: a listing registered it)."""
    from invivo_pipeline.sources.invivo.automation.runs import arrange_ranges, range_tags

    ranges = arrange_ranges(inst, study_ids)
    return range_tags(ranges[0][0], ranges[-1][-1])
