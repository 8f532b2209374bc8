"""What ``invivo sync`` and ``invivo demo`` show: a progress bar while loading, a summary after."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from invivo_pipeline.cli.sync_run import SyncSummary, sync_everything
from invivo_pipeline.warehouse import TableLoadResult


def sync_with_progress(console: Console, *, quiet: bool = False) -> SyncSummary:
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

    with progress:
        return sync_everything(on_discovered=discovered, on_partition=partition_done)


def print_sync_summary(console: Console, summary: SyncSummary) -> None:
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
    if summary.dbt_models or summary.dbt_tests_passed:
        warned = f", {summary.dbt_tests_warned} warned" if summary.dbt_tests_warned else ""
        console.print(
            f"dbt: {summary.dbt_models} models, {summary.dbt_tests_passed} tests passed{warned}",
            highlight=False,
        )
    for outcome in summary.run.checks:
        if not outcome.passed:
            check = outcome.check
            console.print(
                f"[yellow]check failed[/] {check.table}.{check.name}: {outcome.failures} rows, "
                f"e.g. {', '.join(map(str, outcome.sample))} ({check.description})",
                highlight=False,
            )
    if not summary.changed_tables:
        console.print("nothing changed since the last sync: no table was rewritten")
