"""The ``invivo`` command: run the pipeline, the simulator and the checks from a terminal."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from invivo_pipeline.core.errors import ClientError, first_cause

app = typer.Typer(
    name="invivo",
    help="Benchling In Vivo data into DuckDB, with Dagster and dbt.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


@app.callback()
def main_options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log retries, pages and loads as they happen.")
    ] = False,
) -> None:
    # Without a handler Python prints warnings (each retry) to stderr; a terminal user wants the
    # outcome, and one line when it fails, unless they ask for the detail.
    logging.basicConfig(
        level=logging.INFO if verbose else logging.CRITICAL,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)


def fail(message: str) -> typer.Exit:
    """One clear line on stderr and a non-zero exit; never a traceback for an expected failure."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


@app.command()
def simulator(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    seed: Annotated[int, typer.Option(help="Same seed, same world, byte for byte.")] = 7,
    studies: Annotated[int, typer.Option(help="Number of studies.")] = 5,
    animals_per_study: Annotated[int, typer.Option(help="Animals in each study.")] = 40,
    days: Annotated[int, typer.Option(help="Measurement days of a study in progress.")] = 21,
    combination_studies: Annotated[
        int, typer.Option(help="Combination studies (vehicle, A, B, A + B) added to them.")
    ] = 0,
    max_per_page: Annotated[int, typer.Option(help="Largest perPage granted.")] = 100,
    client_id: Annotated[
        str | None, typer.Option(envvar="INVIVO_CLIENT_ID", help="Accepted client id.")
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(envvar="INVIVO_CLIENT_SECRET", show_envvar=True, help="Accepted secret."),
    ] = None,
    rate_limit_per_minute: Annotated[
        int | None, typer.Option(help="Fault: answer 429 beyond this many requests a minute.")
    ] = None,
    error_rate: Annotated[float, typer.Option(help="Fault: share of requests failing 5xx.")] = 0.0,
    latency_ms: Annotated[float, typer.Option(help="Fault: latency added to each request.")] = 0.0,
    token_ttl: Annotated[float, typer.Option(help="Seconds an access token lives.")] = 86400,
    malformed_rate: Annotated[
        float, typer.Option(help="Fault: share of bodies cut off mid-JSON.")
    ] = 0.0,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault dice.")] = 0,
    webhook_url: Annotated[
        str | None,
        typer.Option(
            help="POST /_simulator/advance delivers its webhook events here, with the secret "
            "from INVIVO_WEBHOOK_SECRET in X-Invivo-Webhook-Secret."
        ),
    ] = None,
) -> None:
    """Serve a simulated In Vivo API (the demo's and the tests' source) until interrupted."""
    # The secret only ever comes from the environment: a command-line value would show in `ps`.
    webhook_secret = os.environ.get("INVIVO_WEBHOOK_SECRET") or None
    if webhook_url and not webhook_secret:
        raise fail("--webhook-url needs INVIVO_WEBHOOK_SECRET, the secret the receiver expects")
    from invivo_pipeline.sources.invivo.simulator.generate.world import WorldConfig
    from invivo_pipeline.sources.invivo.simulator.serve.server import serve
    from invivo_pipeline.sources.invivo.simulator.serve.settings import (
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        SimulatorSettings,
    )

    settings = SimulatorSettings(
        client_id=client_id or DEMO_CLIENT_ID,
        client_secret=client_secret or DEMO_CLIENT_SECRET,
        max_per_page=max_per_page,
        token_ttl_s=token_ttl,
        rate_limit_per_minute=rate_limit_per_minute,
        error_rate=error_rate,
        latency_ms=latency_ms,
        malformed_rate=malformed_rate,
        fault_seed=fault_seed,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
    )
    world = WorldConfig(
        seed=seed,
        studies=studies,
        animals_per_study=animals_per_study,
        days=days,
        combination_studies=combination_studies,
    )
    serve(world, settings, host, port)


webhooks_app = typer.Typer(
    help="Receive In Vivo webhook events and store them for the pipeline's sensor.",
    no_args_is_help=True,
)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("serve")
def webhooks_serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
    db: Annotated[
        Path | None,
        typer.Option(
            help="The event store; else INVIVO_WEBHOOK_DB, else data/webhook_events.sqlite."
        ),
    ] = None,
) -> None:
    """Serve POST /webhooks/invivo until interrupted (secret from INVIVO_WEBHOOK_SECRET)."""
    from invivo_pipeline.sources.invivo.webhooks.server import ReceiverConfigError, serve_from_env

    try:
        serve_from_env(host=host, port=port, db=db)
    except ReceiverConfigError as exc:
        raise fail(str(exc)) from None


@webhooks_app.command("quarantined")
def webhooks_quarantined() -> None:
    """List the stored events the sensor could not read, with the reason (INVIVO_WEBHOOK_DB)."""
    _print_set_aside("quarantined")


@webhooks_app.command("held")
def webhooks_held() -> None:
    """List the events waiting for discovery to register their study, and those dropped."""
    _print_set_aside("held")
    _print_set_aside("dropped")


def _print_set_aside(state: str) -> None:
    from invivo_pipeline.sources.invivo.webhooks.store import EventStore, webhook_db_path

    store = EventStore(webhook_db_path(), create=False)
    events = store.set_aside(state)
    console.print(f"{len(events)} {state} events in {store.path}", highlight=False)
    for event in events:
        console.print(event.line(), highlight=False, markup=False, soft_wrap=True)


@app.command()
def sync(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Fail (exit 1, nothing loaded) if any record would be quarantined; "
            "also INVIVO_STRICT=1.",
        ),
    ] = False,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Rebuild the marts of every study, not only of the studies whose records changed.",
        ),
    ] = False,
) -> None:
    """Fetch every In Vivo resource into DuckDB (configured by INVIVO_* environment variables)."""
    from invivo_pipeline.cli.console_summary import print_sync_summary, sync_with_progress
    from invivo_pipeline.cli.sync_run import SyncFailed
    from invivo_pipeline.warehouse.ingest_run import STRICT_ENV

    if strict:  # the in-process Dagster run's assets read it
        os.environ[STRICT_ENV] = "1"

    try:
        summary = sync_with_progress(console, quiet=quiet, full_refresh=full_refresh)
    except SyncFailed as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # the client's, the warehouse's and Dagster's errors, one line each
        raise fail(_one_line(exc)) from None
    print_sync_summary(console, summary)


@app.command()
def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Where the demo's DuckDB file goes (made fresh each time).")
    ] = Path("data/demo"),
    studies: Annotated[int, typer.Option(help="Studies in the simulated tenant.")] = 5,
    animals_per_study: Annotated[int, typer.Option(help="Animals in each study.")] = 40,
    combination_studies: Annotated[
        int, typer.Option(help="Combination studies (vehicle, A, B, A + B) added to them.")
    ] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Start the simulator on a free loopback port and run the whole pipeline against it."""
    from invivo_pipeline.cli.demo import run_demo

    try:
        run_demo(
            console,
            data_dir=data_dir,
            studies=studies,
            animals_per_study=animals_per_study,
            combination_studies=combination_studies,
            quiet=quiet,
        )
    except Exception as exc:
        raise fail(_one_line(exc)) from None


@app.command()
def sql(
    query: Annotated[
        str | None, typer.Argument(help="SQL to run; without it, the DuckDB shell opens.")
    ] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Every row, as CSV.")] = False,
    max_rows: Annotated[int, typer.Option(help="Rows shown in the table.")] = 100,
) -> None:
    """Query the read copy of the warehouse, which stays open to readers while syncs write."""
    from invivo_pipeline.cli.sql import SqlError, open_shell, run_query

    try:
        if query is None:
            open_shell()
        else:
            run_query(console, query, as_csv=as_csv, max_rows=max_rows)
    except SqlError as exc:
        raise fail(str(exc)) from None


@app.command()
def doctor() -> None:
    """Check configuration, credentials, connectivity and the DuckDB file; say what is wrong."""
    from invivo_pipeline.cli.doctor import run_doctor

    if not run_doctor(console, os.environ):
        raise typer.Exit(code=1)


def _one_line(exc: BaseException) -> str:
    """The cause (never an exception group), its class and its first line that says something."""
    cause = first_cause(exc)
    text = next((line.strip() for line in str(cause).splitlines() if line.strip()), "")
    name = type(cause).__name__
    if isinstance(cause, ClientError):
        return text or name
    return f"{name}: {text}" if text else name


def main() -> None:  # pragma: no cover - the console script
    app(prog_name="invivo")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
