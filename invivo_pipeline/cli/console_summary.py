"""What ``invivo sync`` and ``invivo demo`` show: a progress bar while loading, a summary after."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from invivo_pipeline.cli.sync_run import SyncSummary, sync_everything
from invivo_pipeline.reports.data import StudyData
from invivo_pipeline.reports.files import reports_dir
from invivo_pipeline.sources.cytobank.table import CYTOBANK_SCHEMA
from invivo_pipeline.sources.invivo.table import INVIVO_SCHEMA as SCHEMA
from invivo_pipeline.warehouse import TableLoadResult
from invivo_pipeline.warehouse.ingest_run import quarantine_line
from invivo_pipeline.warehouse.quality import REJECTED_CHECK


def sync_with_progress(
    console: Console, *, quiet: bool = False, full_refresh: bool = False
) -> SyncSummary:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("partitions"),
        TimeElapsedColumn(),
        # Bound to the real stdout now: during the run stdout is held back (see sync_run).
        console=Console(file=sys.stdout, force_terminal=console.is_terminal),
        disable=quiet or not console.is_terminal,
        transient=True,
    )
    task = progress.add_task("discovering studies", total=None)

    def discovered(study_ids: list[str]) -> None:
        progress.update(task, description="syncing", total=len(study_ids) + 1)

    def partition_done(study_id: str | None, results: list[TableLoadResult]) -> None:
        progress.advance(task)
        if progress.tasks[0].finished:
            # The same run goes on with dbt and the reports: say so rather than sit at 100 %.
            progress.update(task, description="building dbt models, checks and reports")

    with progress:
        return sync_everything(
            on_discovered=discovered, on_partition=partition_done, full_refresh=full_refresh
        )


def print_sync_summary(console: Console, summary: SyncSummary, *, tables: bool = True) -> None:
    """Rows per table (unless ``tables`` is off), then requests, time, dbt and failed checks."""
    if tables:
        table = Table(title=f"invivo_raw in {summary.warehouse_path}", title_justify="left")
        table.add_column("table")
        table.add_column("rows", justify="right")
        table.add_column("written this run", justify="right")
        for name, rows in summary.rows.items():
            table.add_row(name, f"{rows:,}", f"{summary.run.rows_written(name):,}")
        console.print(table)
    console.print(
        f"studies: {summary.studies}   "
        f"requests: {summary.requests:,} (minimum possible {summary.minimum_requests:,}, "
        f"ratio {summary.request_ratio:.3f}; {summary.discovery_requests} for study discovery)   "
        f"retries: {summary.retries}   time: {summary.seconds:.1f} s",
        highlight=False,
    )
    for line in summary.refused_ids:
        console.print(f"[yellow]skipped[/] {escape(line)}", highlight=False)
    if summary.dbt_up_to_date:
        console.print("dbt: up to date, no input changed since the last build", highlight=False)
    elif summary.dbt_models or summary.dbt_tests_passed:
        warned = f", {summary.dbt_tests_warned} warned" if summary.dbt_tests_warned else ""
        console.print(
            f"dbt: {summary.dbt_models} models, {summary.dbt_tests_passed} tests passed{warned}",
            highlight=False,
        )
    if summary.dq_findings:
        console.print(
            f"data quality: {summary.dq_findings} finding{'' if summary.dq_findings == 1 else 's'}"
            " on the tenant's records, listed in marts.dq_findings and on each study's report page",
            highlight=False,
        )
    if (flow := summary.cytobank) is not None:
        console.print(
            f"Cytobank: {flow.experiments} experiments, {flow.rows['fcs_files']:,} FCS files, "
            f"{flow.rows['statistics']:,} population statistics in {flow.requests} requests "
            f"(minimum possible {flow.minimum_requests}); links in marts.fct_flow_sample",
            highlight=False,
        )
    runs = [(summary.run, SCHEMA)]
    if summary.cytobank is not None:
        runs.append((summary.cytobank.run, CYTOBANK_SCHEMA))
    for run, schema in runs:
        if line := quarantine_line(run, schema):  # the per-table checks would repeat it
            console.print(f"[yellow]{line}[/]", highlight=False, soft_wrap=True)
    for outcome in summary.run.checks:
        if not outcome.passed and outcome.check.name != REJECTED_CHECK:
            check = outcome.check
            console.print(
                f"[yellow]check failed[/] {check.table}.{check.name}: {outcome.failures} rows, "
                f"e.g. {', '.join(map(str, outcome.sample))} ({check.description})",
                highlight=False,
            )
    index = reports_dir(Path(summary.warehouse_path)) / "index.html"
    if index.exists():
        console.print(f"reports: {index}", highlight=False, soft_wrap=True)
    for study_id, failed in summary.figures_failed.items():
        for kind, reason in failed.items():
            console.print(
                f"[yellow]figure not drawn[/] study {escape(study_id)}, {escape(kind)}: "
                f"{escape(reason)} (its page says so; the next sync tries again)",
                highlight=False,
                soft_wrap=True,
            )
    if summary.published is not None:
        console.print(
            f"read copy: {summary.published} (query it with invivo sql, even while a sync runs)",
            highlight=False,
            soft_wrap=True,
        )
    if not summary.changed_tables:
        console.print("nothing changed since the last sync: no table was rewritten")


def _number(value: object, fmt: str) -> str:
    return "–" if value is None or pd.isna(value) else format(value, fmt)


def tgi_table(study: StudyData) -> Table | None:
    """Group, day, TGI %, %T/C and n on the evaluation day; ``None`` for a study without TGI."""
    rows = study.tgi_at_eval_day
    if rows.empty:
        return None
    table = Table(title=study.title, title_justify="left")
    for column, justify in (
        ("group", "left"),
        ("day", "right"),
        ("TGI %", "right"),
        ("%T/C", "right"),
        ("n treated", "right"),
        ("n control", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows.itertuples(index=False):
        table.add_row(
            str(row.group_name),
            str(row.study_day),
            _number(row.tgi_delta_pct, ".1f"),
            _number(row.pct_t_over_c, ".1f"),
            _number(row.n_t, "d"),
            _number(row.n_c, "d"),
        )
    return table


def print_tgi_tables(console: Console, studies: list[StudyData]) -> int:
    """A TGI table per efficacy study; returns how many were printed."""
    tables = [t for t in map(tgi_table, studies) if t is not None]
    if tables:
        console.print(
            "\n[bold]Tumour growth inhibition[/] on each study's evaluation day "
            "(TGI = 100·(1 − ΔT/ΔC); %T/C = 100·mean T / mean C):"
        )
    for table in tables:
        console.print(table)
    return len(tables)
