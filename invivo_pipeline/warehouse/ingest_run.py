"""What one ingestion run loaded, and the rules every source's run shares: strict mode, the
one-line quarantine summary, and a garbage collector kept out of the way while pages stream in."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from invivo_pipeline.warehouse.quality import CheckOutcome
from invivo_pipeline.warehouse.writer import TableLoadResult

STRICT_ENV = "INVIVO_STRICT"
"""Set to 1 (``invivo sync --strict`` does): any record set aside fails the run, nothing loads."""


def strict_from_env(env: Mapping[str, str]) -> bool:
    return (env.get(STRICT_ENV) or "").strip().lower() in {"1", "true", "yes", "on"}


class QuarantineError(Exception):
    """Strict mode met a record set aside; the run rolled back. The message is one line."""


OnPartition = Callable[[str | None, list[TableLoadResult]], None]
"""Called after each partition is written: ``(partition key or None for the globals, results)``."""


@dataclass
class IngestRun:
    """What a run loaded, and what it cost."""

    loads: list[TableLoadResult] = field(default_factory=list)
    purged: dict[str, int] = field(default_factory=dict)
    """Rows deleted because their partition is no longer listed by the API, per table."""
    seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)

    def rows_written(self, table: str) -> int:
        return sum(r.rows_written for r in self.loads if r.table == table)

    def partitions(self, table: str) -> list[TableLoadResult]:
        return [r for r in self.loads if r.table == table]

    def quarantined(self) -> dict[str, int]:
        """Records set aside in ``_rejected`` by this run, per table (only tables with some)."""
        counts: dict[str, int] = {}
        for r in self.loads:
            if r.rejected:
                counts[r.table] = counts.get(r.table, 0) + r.rejected
        return counts


def quarantine_line(run: IngestRun, schema: str) -> str | None:
    """``quarantined 3 records in 2 tables (see invivo_raw._rejected)``, or None for none."""
    counts = run.quarantined()
    if not counts:
        return None
    records, tables = sum(counts.values()), len(counts)
    return (
        f"quarantined {records} record{'s' * (records != 1)} in {tables} "
        f"table{'s' * (tables != 1)} (see {schema}._rejected)"
    )


@contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """Spare the garbage collector scans that find nothing.

    A page of records is thousands of new dicts, so CPython's collector runs often during a
    run, and every so often it scans every object the process holds (Dagster's included), which
    was a large share of a sync's CPU. The objects that exist before the run are frozen for its
    duration (never scanned, never garbage) and unfrozen after. The thresholds stay as they are:
    rarer collections let the cyclic garbage of asyncio and httpx pile up (RSS +60 %).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
