"""Every environment variable the pipeline reads, in one registry, and one rule for counts.

``SETTINGS`` is the reference: ``docs/configuration.md`` is generated from it
(``python -m invivo_pipeline.core.env_settings docs/configuration.md``) and a test holds it against the
code, so a variable read but not listed here, or listed but read nowhere, fails the tests.
To add a variable: add one ``Setting`` line below, then regenerate the page.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    """As a person reads it: ``500``, ``unlimited``, ``–`` for none."""
    meaning: str
    required: str = "no"


# fmt: off
SETTINGS: tuple[Setting, ...] = (
    # The In Vivo API (ClientConfig.from_env, the one reader of every entry point)
    Setting("INVIVO_BASE_URL", "–", "Your tenant, e.g. `https://tenant.benchling.com` (with or without `/api/public/v1`). HTTPS is required, except for loopback hosts.", "yes"),
    Setting("INVIVO_CLIENT_ID", "–", "OAuth2 client-credentials id.", "yes"),
    Setting("INVIVO_CLIENT_SECRET", "–", "OAuth2 client secret. Reaches Dagster as an `EnvVar`: the UI shows the name, never the value; never logged.", "yes"),
    Setting("INVIVO_API_VERSION", "`2022-12-14`", "Sent as `X-Studies-Api-Version`."),
    Setting("INVIVO_REQUESTS_PER_MINUTE", "unlimited", "Client-side limit: no more than this many requests in any rolling 60 s window, counted as the server counts them (a request holds its place until 60 s after its answer), so setting your tenant's exact limit meets no 429."),
    Setting("INVIVO_SHARED_BUDGET_PATH", "`$DAGSTER_HOME/invivo_request_budget.sqlite`", "The SQLite file holding the one rolling window of `INVIVO_REQUESTS_PER_MINUTE` that every process of a deployment (runs, sensors, `invivo sync`) shares, so together they stay under the limit. With neither it nor `DAGSTER_HOME` set, each process keeps a window of its own."),
    Setting("INVIVO_CONCURRENCY", "`8`", "Requests in flight at most."),
    Setting("INVIVO_INGEST_PROCESSES", "`2`", "Worker processes that fetch, check and flatten the studies of a run of 8 studies or more, while the run's own process writes them; they share `INVIVO_CONCURRENCY` and the request budget (with `INVIVO_REQUESTS_PER_MINUTE` set, only a shared one: `INVIVO_SHARED_BUDGET_PATH` or `DAGSTER_HOME`; else one process). `0` does it all in one process: about 15 % slower for a large run, and about 400 MB less memory (docs/performance.md)."),
    Setting("INVIVO_PER_PAGE", "`500`", "Page size to ask for. The server grants what it grants (`meta.per_page`), and the client pages with that."),
    Setting("INVIVO_TIMEOUT_S", "`30`", "Per-request read timeout, in seconds."),
    Setting("INVIVO_CONNECT_TIMEOUT_S", "`10`", "Connect timeout, in seconds."),
    Setting("INVIVO_MAX_RETRIES", "`6`", "Retries of a failed request (5xx, 429, timeouts) before the run fails."),
    Setting("INVIVO_CONNECT_RETRIES", "`2`", "Retries after a failed connect: few and quick, so a wrong URL fails in about a second."),
    Setting("INVIVO_BACKOFF_BASE_S", "`0.5`", "Backoff before the first retry, doubled per retry (full jitter: a uniform wait up to it)."),
    Setting("INVIVO_BACKOFF_MAX_S", "`30`", "Longest backoff between two retries."),
    Setting("INVIVO_REQUEST_DEADLINE_S", "`120`", "A request's connect and every read together must end within it: a server that drip-feeds an answer fails there, in one line naming the request, and the locks are released. Not retried."),
    Setting("INVIVO_RUN_DEADLINE_S", "off", "Bounds every request of one client run (a sync, one sensor tick, one `invivo doctor`, which caps it at 60 s). Off by default: the request deadline and the page bounds already end every run, and a wall-clock default would cut off a first sync of a large tenant at a low request budget."),
    Setting("INVIVO_MAX_PAGE_BYTES", "`67108864` (64 MiB)", "An answer larger than this fails before it is read whole (bounded memory whatever a server sends)."),
    Setting("INVIVO_MAX_JSON_DEPTH", "`64`", "An answer nested deeper than this, or with a byte that is not UTF-8, fails in one line before a parser sees it. Paging metadata must agree with itself (`last_page` = ⌈`total` / `per_page`⌉, no page longer than `per_page`)."),
    Setting("INVIVO_RETRY_AFTER_MAX_S", "`300`", "A 429 asking to wait longer than this fails instead of stalling the run."),
    Setting("INVIVO_STRICT", "off", "`1`: a record that would be quarantined (`invivo_raw._rejected`) fails the run instead, before it commits, as `invivo sync --strict` does; also for runs launched from Dagster."),
    # The warehouse and dbt
    Setting("INVIVO_DUCKDB_PATH", "`data/invivo.duckdb`", "The warehouse file, relative to the working directory. dbt reads the same variable."),
    Setting("INVIVO_DUCKDB_MEMORY_LIMIT", "`64MB`", "DuckDB's memory cap for the writer. A run is one transaction, so beyond this it spills to disk (beside the file) instead of growing."),
    Setting("INVIVO_DUCKDB_WRITER_THREADS", "`1`", "DuckDB threads of the writer. On two cores a second thread only contended with the thread that reads the pages; raise it on a larger machine."),
    Setting("INVIVO_DBT_PARENT_PID", "set by the pipeline", "Internal, not a setting: the pipeline names itself to its dbt child, which then dies with it (`invivo_pipeline/assets/dbt_guard.py`). Leave it unset."),
    Setting("INVIVO_DBT_MEMORY_LIMIT", "`600MB`", "DuckDB's memory cap while dbt builds the models (`dbt_project/profiles.yml`); past it DuckDB spills to disk beside the file."),
    # Reports
    Setting("INVIVO_REPORTS_DIR", "`reports/` beside the DuckDB file", "Where the HTML reports (one page per study, an index) and their PNGs are written."),
    Setting("INVIVO_REPORT_WORKERS", "the number of cores", "Processes that draw the report figures (fewer start when there are few studies)."),
    # Automation (read when the code location loads: Dagster needs intervals and crons then)
    Setting("INVIVO_SENSOR_INTERVAL_S", "`60`", "Study discovery (and the change probe when it is due)."),
    Setting("INVIVO_PROBE_INTERVAL_S", "`300`", "Least time between two change probes; `0` probes on every discovery tick."),
    Setting("INVIVO_PROBE_RESOURCES", "`measurements,dosages,observations,samples`", "The per-study lists counted by the probe: it costs this many requests per in-progress study."),
    Setting(
        "INVIVO_WEBHOOK_SENSOR_INTERVAL_S",
        "`5`",
        "Reading new webhook events from the store. The daemon checks sensors every 5 s at most, "
        "so below 5 this changes nothing; each sensor asks Dagster for a second less than its "
        "interval, so that it ticks on the daemon loop it was meant for.",
    ),
    Setting("INVIVO_WEBHOOK_SETTLE_S", "`2`", "While events arrived this recently, the webhook sensor waits for the rest (at most 15 s), so a burst becomes one run; `0` never waits."),
    Setting("INVIVO_MAX_EVENTS_PER_TICK", "`5000`", "Webhook events one tick consumes at most; a backlog drains over several ticks."),
    Setting("INVIVO_AUTOMATION_INTERVAL_S", "`30`", "Evaluating the dbt models' and reports' automation condition."),
    Setting("INVIVO_RECONCILE_CRON", "`0 2 * * *`", "The daily reconcile."),
    Setting("INVIVO_DAILY_RECONCILE", "`active`", "`active`: the daily reconcile skips completed and canceled studies; `all`: one run over every study, and the weekly schedule skips."),
    Setting("INVIVO_FINISHED_CRON", "`0 3 * * 0`", "The weekly refresh of completed and canceled studies."),
    Setting("INVIVO_SCHEDULE_TIMEZONE", "`UTC`", "Timezone of the crons."),
    # Webhooks
    Setting("INVIVO_WEBHOOK_SECRET", "–", "The shared secret webhook senders put in `X-Invivo-Webhook-Secret`. Never logged.", "for webhooks"),
    Setting("INVIVO_WEBHOOK_DB", "`data/webhook_events.sqlite`", "The webhook event store. The receiver writes it and the sensor reads it: give both the same value."),
    Setting("INVIVO_WEBHOOK_HEADER_TIMEOUT_S", "`10`", "A connection that has not sent its whole request head by then is closed (slow-header senders cannot hold the receiver's connections)."),
    Setting("INVIVO_WEBHOOK_BODY_TIMEOUT_S", "`20`", "A body not received whole by then is answered 408 and the connection closed."),
    Setting("INVIVO_WEBHOOK_MAX_CONNECTIONS", "`200`", "Open connections at most (lowered to fit the process's file limit); past it, the oldest connection still waiting for its headers is closed."),
    Setting("INVIVO_WEBHOOK_MAX_BYTES", "`1048576`", "The largest webhook body accepted (413 beyond)."),
    # Cytobank, the optional second source
    Setting("CYTOBANK_BASE_URL", "off", "Turns the Cytobank source on: the API root, e.g. `https://premium.cytobank.org/cytobank/api/v1`. HTTPS except on loopback.", "to turn it on"),
    Setting("CYTOBANK_USERNAME", "–", "Login with `CYTOBANK_PASSWORD` (`POST /authenticate`; the 8 h token is renewed).", "this and the password, or a token"),
    Setting("CYTOBANK_PASSWORD", "–", "The login's password. An `EnvVar` in Dagster; never logged.", "with the username"),
    Setting("CYTOBANK_API_TOKEN", "–", "A token generated in the Cytobank UI (SSO users); lasts 8 h, cannot be renewed by the client.", "or this"),
    Setting("CYTOBANK_REQUESTS_PER_MINUTE", "`100`", "Client-side limit over any rolling 60 s (the documented limit); a 429 waits for `Retry-After`."),
    # Dagster
    Setting("DAGSTER_EVENT_BATCH_SIZE", "`1000` on `deploy/dagster.yaml`'s event log, else `0`", "Dagster's own variable: a run's planned events, and an asset's materializations over the run's partitions, are stored up to this many together (on `deploy/dagster.yaml`'s SQLite event log one transaction per file, which sets it itself unless it is set: `event_batch_size`; on PostgreSQL one INSERT, so set it there). `0` stores each event alone."),
    Setting("DAGSTER_HOME", "throwaway instance", "The Dagster instance folder (its `dagster.yaml`, e.g. from `deploy/`): where `invivo sync` records its runs and materializations, so that the UI shows them."),
)
# fmt: on

BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}

TABLE_START = "<!-- settings table: generated from invivo_pipeline/core/env_settings.py -->"
TABLE_END = "<!-- end of settings table -->"


def settings_table(settings: tuple[Setting, ...] = SETTINGS) -> str:
    """The reference table as Markdown, between the markers that ``write_table`` replaces."""
    rows = [
        "| variable | required | default | meaning |",
        "|---|---|---|---|",
        *(f"| `{s.name}` | {s.required} | {s.default} | {s.meaning} |" for s in settings),
    ]
    return "\n".join([TABLE_START, *rows, TABLE_END])


def write_table(page: Path) -> None:
    """Replace the table between the markers in ``page`` with the registry's."""
    text = page.read_text()
    before, _, rest = text.partition(TABLE_START)
    _, found, after = rest.partition(TABLE_END)
    if not found:
        raise SystemExit(f"{page} has no {TABLE_START} … {TABLE_END} section")
    page.write_text(before + settings_table() + after)


def positive_int(
    env: Mapping[str, str], name: str, default: int, error: type[Exception] = ValueError
) -> int:
    """``env[name]`` as a whole number of at least 1, else ``default`` when unset or empty;
    anything else raises ``error`` naming the variable and the value (``"²"`` too, which
    ``str.isdigit`` accepts and ``int`` does not)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise error(f"{name}={raw!r} is not a whole number of at least 1")
    return int(raw)


if __name__ == "__main__":
    write_table(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/configuration.md"))
