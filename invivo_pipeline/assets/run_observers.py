"""Who wants to hear about a run's progress: the CLI's progress bar, while Dagster runs the assets.

Dagster executes the asset function in the same process for ``execute_in_process``, so a listener
registered around that call sees each partition as it is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from invivo_pipeline.warehouse import TableLoadResult

if TYPE_CHECKING:
    from invivo_pipeline.warehouse.ingest_run import IngestRun


class RunObserver(Protocol):
    def partition_done(self, study_id: str | None, results: list[TableLoadResult]) -> None: ...

    def run_done(self, run: IngestRun) -> None: ...


_observers: list[RunObserver] = []


@contextmanager
def observing(observer: RunObserver) -> Iterator[None]:
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


def partition_done(study_id: str | None, results: list[TableLoadResult]) -> None:
    for observer in list(_observers):
        observer.partition_done(study_id, results)


def run_done(run: IngestRun) -> None:
    for observer in list(_observers):
        observer.run_done(run)
