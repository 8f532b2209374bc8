"""Figures drawn by worker processes are the figures drawn here, in the same order; a failure on
either side stops the workers."""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
from contextlib import closing

import pandas as pd
import pytest

from invivo_pipeline.reports import build
from invivo_pipeline.reports.build import read_studies
from invivo_pipeline.reports.drawing import (
    STUDIES_PER_WORKER,
    ReportSettingError,
    draw,
    drawn_in_order,
    report_workers,
    workers_for,
)
from invivo_pipeline_tests.support.reports import pages_in


def test_workers_draw_the_same_figures_and_pages_in_the_same_order(
    materialized, tmp_path, monkeypatch
):
    # The test tenant's few studies are not worth a worker: start them anyway.
    monkeypatch.setattr(build, "workers_for", lambda studies, max_workers: max_workers)
    seen: dict[int, list[tuple[str, dict]]] = {1: [], 2: []}
    children: dict[int, set[int]] = {1: set(), 2: set()}
    written = {}

    def on_plots(workers, study, plots, files):
        seen[workers].append((study.study_id, plots))
        children[workers].add(len(multiprocessing.active_children()))

    for workers in (1, 2):
        written[workers] = build.write_reports(
            materialized.db,
            tmp_path / str(workers),
            max_workers=workers,
            on_plots=functools.partial(on_plots, workers),
        )
    assert children == {1: {0}, 2: {2}}, "drawn here, then by two workers"
    assert len(seen[1]) >= 2 and seen[2] == seen[1]  # every PNG byte for byte, in study order
    assert any(png for _, plots in seen[1] for png in plots.values())
    pages = {w: pages_in(tmp_path / str(w)) for w in (1, 2)}
    assert pages[2] == pages[1] and "index.html" in pages[1]
    assert list(written[2].pages) == list(written[1].pages)
    assert multiprocessing.active_children() == []


def test_a_figure_that_fails_in_a_worker_comes_back_as_that_figure_failed(materialized):
    """A frame without the column the growth curves read, as a tenant's odd data could leave it:
    that figure fails, in a worker as in this process, and nothing else does."""
    studies = read_studies(materialized.db)
    broken = dataclasses.replace(studies[0], growth=pd.DataFrame({"no_such_column": [1.0]}))
    alone = draw(broken)
    assert set(alone.failed) == {"tumour_growth"}
    assert alone.failed["tumour_growth"].startswith("KeyError: ")
    assert alone.figures["tumour_growth"] is None and alone.figures["survival"] is not None

    drawing = drawn_in_order([*studies[1:], broken], workers=2)
    with closing(drawing):
        drawn = list(drawing)
    assert [study.study_id for study, _ in drawn] == [s.study_id for s in [*studies[1:], broken]]
    assert drawn[-1][1] == alone, "the same figures and the same failure as in this process"
    assert all(not result.failed for _, result in drawn[:-1])
    assert multiprocessing.active_children() == []


def test_the_caller_stopping_stops_the_workers(materialized):
    studies = read_studies(materialized.db)
    drawing = drawn_in_order(studies * 3, workers=2)
    with closing(drawing):
        first, (figures, _) = next(drawing)
    assert first.study_id == studies[0].study_id and set(figures) == set(draw(first).figures)
    assert multiprocessing.active_children() == []


def test_the_number_of_workers():
    assert report_workers({}) >= 1  # the number of cores
    assert report_workers({"INVIVO_REPORT_WORKERS": " 3 "}) == 3
    for bad in ("0", "two", "-1", "1.5"):
        with pytest.raises(ReportSettingError, match="INVIVO_REPORT_WORKERS"):
            report_workers({"INVIVO_REPORT_WORKERS": bad})
    assert workers_for(5, 4) == 1, "too few studies to be worth a worker's start"
    assert workers_for(2 * STUDIES_PER_WORKER, 4) == 2
    assert workers_for(1000, 4) == 4
    assert workers_for(1000, 1) == 1
