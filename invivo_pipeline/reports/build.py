"""Reading the warehouse, rendering every study's plots and writing the HTML pages.

The Dagster assets and anyone else (a notebook, a cron job) call these; nothing here knows about
Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from invivo_pipeline.reports.data import StudyData, load_studies, load_study, study_ids
from invivo_pipeline.reports.drawing import drawn_in_order, workers_for
from invivo_pipeline.reports.files import slug, write_atomic
from invivo_pipeline.reports.html import (
    SECTIONS,
    IndexEntry,
    ReportContext,
    Section,
    index_page,
    study_page,
)
from invivo_pipeline.reports.plots import DEFAULT_LIMITS, BodyWeightLimits
from invivo_pipeline.warehouse.duckdb_file import open_reader

PLOT_TITLES = {
    "tumour_growth": "tumour growth curves",
    "survival": "Kaplan–Meier survival",
    "body_weight": "body-weight change",
    "growth_forest": "growth-rate forest plot",
    "waterfall": "best response by animal (waterfall)",
    "spider": "tumour volume by animal (spider)",
}


def load_dbt_vars(project_dir: Path) -> dict[str, Any]:
    """The ``vars`` of ``dbt_project.yml``: the thresholds the plots draw are the ones dbt used
    (unless a build overrode them with ``--vars``)."""
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}
    return dict(config.get("vars") or {})


def body_weight_limits(dbt_vars: Mapping[str, Any]) -> BodyWeightLimits:
    default = DEFAULT_LIMITS
    return BodyWeightLimits(
        alert_pct=float(dbt_vars.get("bw_alert_pct", default.alert_pct)),
        endpoint_pct=float(dbt_vars.get("bw_endpoint_pct", default.endpoint_pct)),
    )


def read_studies(db_path: Path) -> list[StudyData]:
    """Every study's report inputs, in one short read-only session."""
    with open_reader(db_path) as con:
        return load_studies(con)


@dataclass(frozen=True)
class WrittenReports:
    directory: Path
    index: Path
    pages: dict[str, Path]
    """study_id → its HTML page."""
    plots: dict[str, list[str]]
    """study_id → the plot kinds its page shows."""


RESERVED_NAMES = frozenset(
    {"index", "con", "prn", "aux", "nul"}
    | {f"{device}{n}" for device in ("com", "lpt") for n in range(1, 10)}
)
"""Page names a study may not take: the index, and the device names Windows will not open as files
(reports are often read from a file share)."""


class _FileNames:
    """``<code>.html`` per study, in study order; a code seen before, or a reserved name (a study
    coded ``index`` would overwrite the index), also gets the study id."""

    def __init__(self) -> None:
        self._taken: set[str] = set(RESERVED_NAMES)

    def __call__(self, study: StudyData) -> str:
        name = slug(study.code)
        if name.lower() in self._taken:  # two studies with one code: the id keeps them apart
            name = f"{name}-{slug(study.study_id)}"
        self._taken.add(name.lower())
        return f"{name}.html"


OnPlots = Callable[[StudyData, Mapping[str, bytes | None]], None]
"""Receives each study (its summary only) with its figures (kind → PNG, or None if no data)."""


def write_reports(
    db_path: Path,
    out_dir: Path,
    *,
    limits: BodyWeightLimits = DEFAULT_LIMITS,
    sections: Sequence[Section] = SECTIONS,
    pages: bool = True,
    kinds: Collection[str] | None = None,
    on_plots: OnPlots | None = None,
    max_workers: int = 1,
) -> WrittenReports:
    """One HTML page per study plus ``index.html`` in ``out_dir``, each written atomically.

    ``db_path`` is held open until every study is drawn, and no other process can write a DuckDB
    file while it is open: give a copy from ``snapshot.report_snapshot`` rather than the
    warehouse itself when a sync may need to write meanwhile (the Dagster asset does).

    Studies are read, drawn and written one at a time, and only their summaries are kept for the
    index, so memory does not grow with the number of studies. ``on_plots`` sees each study's
    figures as they are drawn (the plot assets write and show them); with ``pages=False`` only
    that happens, for the plot ``kinds`` (default: all). The read-only connection stays open
    while pages are built, so a section may query more than ``StudyData`` holds (flow cytometry
    tables, for one).

    With ``max_workers`` above 1 the figures are drawn by up to that many worker processes (as
    many as the number of studies makes worth starting). They are started with ``spawn``, which
    imports the caller's main module again: a script must keep its work under
    ``if __name__ == "__main__":``, as with any use of ``multiprocessing``.
    """
    # A page shows every kind; plots alone only those asked for.
    drawn_kinds = kinds if not pages else None
    names = _FileNames()
    written: dict[str, Path] = {}
    shown: dict[str, list[str]] = {}
    entries: list[IndexEntry] = []
    with open_reader(db_path) as con:
        ids = study_ids(con)
        drawing = drawn_in_order(
            (load_study(con, study_id) for study_id in ids),
            workers=workers_for(len(ids), max_workers),
            limits=limits,
            kinds=drawn_kinds,
        )
        with closing(drawing):  # a failure below stops the workers at once
            for study, plots in drawing:
                summary = study.summary()
                if on_plots is not None:
                    on_plots(summary, plots)
                if not pages:
                    continue
                name = names(study)
                page = study_page(ReportContext(study, plots, con), sections)
                written[study.study_id] = write_atomic(out_dir / name, page)
                shown[study.study_id] = [k for k, png in plots.items() if png is not None]
                titles = [PLOT_TITLES[k] for k in shown[study.study_id]]
                entries.append(IndexEntry(summary, name, titles))
    index = out_dir / "index.html"
    if pages:
        write_atomic(index, index_page(entries))
    return WrittenReports(out_dir, index, written, shown)
