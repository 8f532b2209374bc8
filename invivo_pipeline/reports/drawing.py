"""Drawing the studies' figures on every core.

matplotlib draws on one core, and drawing the three figures of every study was over half of an
``invivo sync`` on two cores (docs/performance.md). Worker processes draw the
figures here while this process reads the next studies from DuckDB and writes the pages; the
figures come back in study order, and only a few studies are in flight at once, so memory does
not grow with the tenant.

Workers are started fresh (``spawn``), not forked: the parent holds a DuckDB connection and its
threads, which a fork would copy in whatever state they were in.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from typing import NamedTuple

from invivo_pipeline.core.env_settings import positive_int
from invivo_pipeline.core.errors import one_line
from invivo_pipeline.reports.data import StudyData
from invivo_pipeline.reports.limits import DEFAULT_LIMITS, BodyWeightLimits

WORKERS_ENV = "INVIVO_REPORT_WORKERS"
STUDIES_PER_WORKER = 4
"""Studies a worker must have to draw before it is worth starting. Starting one (an interpreter
importing matplotlib and pandas) costs about as much as drawing two or three studies
(docs/performance.md); with fewer studies per worker they are drawn in this process."""
IN_FLIGHT_PER_WORKER = 2
"""Studies queued per worker: enough that none waits, few enough that memory stays flat."""

PLOT_TITLES = {
    "tumour_growth": "tumour growth curves",
    "survival": "Kaplan–Meier survival",
    "body_weight": "body-weight change",
    "growth_forest": "growth-rate forest plot",
    "waterfall": "best response by animal (waterfall)",
    "spider": "tumour volume by animal (spider)",
}
"""Each plot kind, in drawing order, as a page and the index name it."""

Figures = dict[str, bytes | None]


class Drawn(NamedTuple):
    """A study's figures, and those that failed: one figure that cannot be drawn (a tenant's data
    no test foresaw, a bug) costs that figure, not the study's page or the other studies'."""

    figures: Figures
    """kind → PNG, or None where the study has no such data or the figure failed."""
    failed: dict[str, str]
    """kind → why it could not be drawn, in one line."""


class ReportSettingError(ValueError):
    """A reports setting in the environment is not usable; the message says which and why."""


def report_workers(env: Mapping[str, str] = os.environ) -> int:
    """``INVIVO_REPORT_WORKERS`` (a whole number of at least 1), else the number of cores."""
    return positive_int(env, WORKERS_ENV, os.cpu_count() or 1, ReportSettingError)


def workers_for(studies: int, max_workers: int) -> int:
    """How many workers to draw ``studies`` studies with (1: in this process)."""
    return max(1, min(max_workers, studies // STUDIES_PER_WORKER))


def plot_renderers(
    limits: BodyWeightLimits = DEFAULT_LIMITS,
) -> dict[str, Callable[[StudyData], bytes | None]]:
    """Imported here, not with the module: matplotlib's import costs every run process about half
    a second before its first step, and only a run that draws needs it."""
    from invivo_pipeline.reports.forest import forest_png
    from invivo_pipeline.reports.plots import body_weight_png, survival_png, tumour_growth_png
    from invivo_pipeline.reports.response_plots import spider_png, waterfall_png

    return {
        "tumour_growth": tumour_growth_png,
        "survival": survival_png,
        "body_weight": lambda study: body_weight_png(study, limits),
        "growth_forest": forest_png,
        "waterfall": waterfall_png,
        "spider": spider_png,
    }


def draw(
    study: StudyData,
    limits: BodyWeightLimits = DEFAULT_LIMITS,
    kinds: Collection[str] | None = None,
) -> Drawn:
    """The study's figures of ``kinds`` (default: all), each drawn on its own."""
    drawn = Drawn({}, {})
    for kind, render in plot_renderers(limits).items():
        if kinds is not None and kind not in kinds:
            continue
        try:
            drawn.figures[kind] = render(study)
        except Exception as exc:  # any failure: the page says it, and the rest is drawn
            drawn.figures[kind] = None
            drawn.failed[kind] = one_line(f"{type(exc).__name__}: {exc}")
    return drawn


def drawn_in_order(
    studies: Iterable[StudyData],
    *,
    workers: int,
    limits: BodyWeightLimits = DEFAULT_LIMITS,
    kinds: Collection[str] | None = None,
) -> Iterator[tuple[StudyData, Drawn]]:
    """Each study with its figures, in the order given; drawn by ``workers`` processes."""
    if workers <= 1:
        for study in studies:
            yield study, draw(study, limits, kinds)
        return
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    pending: deque[tuple[StudyData, Future[Drawn]]] = deque()
    try:
        for study in studies:
            pending.append((study, pool.submit(draw, study, limits, kinds)))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                done, figures = pending.popleft()
                yield done, figures.result()
        while pending:
            done, figures = pending.popleft()
            yield done, figures.result()
    finally:
        # A failure (here or in the caller) stops the drawing of the studies still queued.
        pool.shutdown(wait=True, cancel_futures=True)
