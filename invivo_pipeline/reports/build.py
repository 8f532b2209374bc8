"""Reading the warehouse, rendering every study's plots and writing the HTML pages.

The Dagster assets and anyone else (a notebook, a cron job) call these; nothing here knows about
Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from invivo_pipeline.reports.data import StudyData, load_studies, load_study, study_ids
from invivo_pipeline.reports.files import slug, write_atomic
from invivo_pipeline.reports.html import (
    SECTIONS,
    IndexEntry,
    ReportContext,
    Section,
    index_page,
    study_page,
)
from invivo_pipeline.reports.plots import (
    DEFAULT_LIMITS,
    BodyWeightLimits,
    body_weight_png,
    survival_png,
    tumour_growth_png,
)
from invivo_pipeline.warehouse.duckdb_file import open_reader

PLOT_TITLES = {
    "tumour_growth": "tumour growth curves",
    "survival": "Kaplan–Meier survival",
    "body_weight": "body-weight change",
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


def plot_renderers(
    limits: BodyWeightLimits = DEFAULT_LIMITS,
) -> dict[str, Callable[[StudyData], bytes | None]]:
    return {
        "tumour_growth": tumour_growth_png,
        "survival": survival_png,
        "body_weight": lambda study: body_weight_png(study, limits),
    }


def read_studies(db_path: Path) -> list[StudyData]:
    """Every study's report inputs, in one short read-only session."""
    with open_reader(db_path) as con:
        return load_studies(con)


def render_plots(
    study: StudyData, limits: BodyWeightLimits = DEFAULT_LIMITS
) -> dict[str, bytes | None]:
    return {kind: render(study) for kind, render in plot_renderers(limits).items()}


@dataclass(frozen=True)
class WrittenReports:
    directory: Path
    index: Path
    pages: dict[str, Path]
    """study_id → its HTML page."""
    plots: dict[str, list[str]]
    """study_id → the plot kinds its page shows."""


class _FileNames:
    """``<code>.html`` per study, in study order; a code seen before also gets the study id."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

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
) -> WrittenReports:
    """One HTML page per study plus ``index.html`` in ``out_dir``, each written atomically.

    Studies are read, drawn and written one at a time, and only their summaries are kept for the
    index, so memory does not grow with the number of studies. ``on_plots`` sees each study's
    figures as they are drawn (the plot assets write and show them); with ``pages=False`` only
    that happens, for the plot ``kinds`` (default: all). The read-only connection stays open
    while pages are built, so a section may query more than ``StudyData`` holds (flow cytometry
    tables, for one).
    """
    renderers = plot_renderers(limits)
    if not pages and kinds is not None:  # a page shows every kind; plots alone only those asked
        renderers = {k: r for k, r in renderers.items() if k in kinds}
    names = _FileNames()
    written: dict[str, Path] = {}
    shown: dict[str, list[str]] = {}
    entries: list[IndexEntry] = []
    with open_reader(db_path) as con:
        for study_id in study_ids(con):
            study = load_study(con, study_id)
            plots = {kind: render(study) for kind, render in renderers.items()}
            summary = study.summary()
            if on_plots is not None:
                on_plots(summary, plots)
            if not pages:
                continue
            name = names(study)
            page = study_page(ReportContext(study, plots, con), sections)
            written[study_id] = write_atomic(out_dir / name, page)
            shown[study_id] = [k for k, png in plots.items() if png is not None]
            entries.append(IndexEntry(summary, name, [PLOT_TITLES[k] for k in shown[study_id]]))
    index = out_dir / "index.html"
    if pages:
        write_atomic(index, index_page(entries))
    return WrittenReports(out_dir, index, written, shown)
