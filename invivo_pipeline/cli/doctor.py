"""``invivo doctor``: each thing the pipeline needs, checked in order, with what to do about it.

Bounded: each source gets at most ``DOCTOR_DEADLINE_S`` for all its requests (besides each
request's own deadline), and the In Vivo check is two requests (a token and one page of one
study), so a server that hangs or drip-feeds makes a ✗ line, not a terminal that never returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from rich.console import Console

from invivo_pipeline.core.batches import run_sync
from invivo_pipeline.core.errors import ApiUnreachableError, AuthenticationError, ClientError
from invivo_pipeline.sources.cytobank.client import CytobankClient
from invivo_pipeline.sources.cytobank.config import CytobankConfig, cytobank_configured
from invivo_pipeline.sources.invivo.client import InVivoClient
from invivo_pipeline.sources.invivo.config import ClientConfig
from invivo_pipeline.sources.invivo.table import RESOURCES
from invivo_pipeline.warehouse import Warehouse, WarehouseError, default_duckdb_path

REQUIRED = ("INVIVO_BASE_URL", "INVIVO_CLIENT_ID", "INVIVO_CLIENT_SECRET")
DOCTOR_DEADLINE_S = 60.0


def _bounded(configured: float | None) -> float:
    return min(configured or DOCTOR_DEADLINE_S, DOCTOR_DEADLINE_S)


def run_doctor(console: Console, env: Mapping[str, str]) -> bool:
    ok = True

    def report(passed: bool, what: str, detail: str) -> None:
        nonlocal ok
        ok = ok and passed
        mark = "[green]✓[/]" if passed else "[red]✗[/]"
        console.print(f"{mark} {what}: {detail}", highlight=False, soft_wrap=True)

    missing = [name for name in REQUIRED if not env.get(name)]
    report(
        not missing,
        "configuration",
        "INVIVO_BASE_URL, INVIVO_CLIENT_ID and INVIVO_CLIENT_SECRET are set"
        if not missing
        else f"set {', '.join(missing)} (see the README's configuration table)",
    )
    config = None
    if not missing:
        try:
            config = ClientConfig.from_env(env)
            config = dataclasses.replace(config, run_deadline_s=_bounded(config.run_deadline_s))
            report(True, "API URL", config.api_root)
        except ClientError as exc:
            report(False, "API URL", str(exc))
    if config is not None:
        try:
            studies = run_sync(_count_studies(config))
            report(True, "credentials", "a token was issued")
            report(True, "connectivity", f"the API lists {studies} studies")
        except AuthenticationError as exc:
            report(False, "credentials", str(exc))
        except ApiUnreachableError as exc:
            report(False, "connectivity", str(exc))
        except ClientError as exc:
            report(False, "API", str(exc))
    if cytobank_configured(env):
        _check_cytobank(env, report)
    else:
        console.print("- Cytobank: off (CYTOBANK_BASE_URL is not set)", highlight=False)
    path = default_duckdb_path(env)
    try:
        counts = Warehouse(path, busy_timeout=2, lock_timeout=2, resources=RESOURCES).row_counts()
        detail = (
            f"{path} holds {counts['studies']} studies, {counts['measurements']:,} measurements"
            if path.exists()
            else f"{path} will be created by the first sync"
        )
        report(True, "DuckDB file", detail)
    except WarehouseError as exc:
        report(False, "DuckDB file", str(exc))
    return ok


def _check_cytobank(env: Mapping[str, str], report: Callable[[bool, str, str], None]) -> None:
    """The optional source: its settings, then a login and the experiment list (two requests)."""
    try:
        config = CytobankConfig.from_env(env)
    except ClientError as exc:
        report(False, "Cytobank configuration", str(exc))
        return
    config = dataclasses.replace(config, run_deadline_s=_bounded(config.run_deadline_s))
    try:
        experiments = run_sync(_count_experiments(config))
        report(True, "Cytobank", f"{config.base_url} lists {experiments} experiments")
    except AuthenticationError as exc:
        report(False, "Cytobank credentials", str(exc))
    except ApiUnreachableError as exc:
        report(False, "Cytobank connectivity", str(exc))
    except ClientError as exc:
        report(False, "Cytobank", str(exc))


async def _count_experiments(config: CytobankConfig) -> int:
    async with CytobankClient(config) as client:
        return len(await client.list_experiments())


async def _count_studies(config: ClientConfig) -> int:
    async with InVivoClient(config) as client:
        return (await client.probe("studies")).total
