"""Reading the warehouse, rendering every study's plots and writing the HTML pages.

The Dagster assets and anyone else (a notebook, a cron job) call these; nothing here knows about
Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from invivo_pipeline.reports.data import StudyData, load_studies
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


def _file_names(studies: Sequence[StudyData]) -> dict[str, str]:
    names: dict[str, str] = {}
    taken: set[str] = set()
    for study in studies:
        name = slug(study.code)
        if name.lower() in taken:  # two studies with one code: the id keeps them apart
            name = f"{name}-{slug(study.study_id)}"
        taken.add(name.lower())
        names[study.study_id] = f"{name}.html"
    return names


def write_reports(
    db_path: Path,
    out_dir: Path,
    *,
    limits: BodyWeightLimits = DEFAULT_LIMITS,
    sections: Sequence[Section] = SECTIONS,
    rendered: Mapping[str, Mapping[str, bytes | None]] | None = None,
) -> WrittenReports:
    """One HTML page per study plus ``index.html`` in ``out_dir``, each written atomically.

    The read-only connection stays open while pages are built, so a section may query more than
    ``StudyData`` holds (flow cytometry tables, for one). ``rendered`` (study_id → kind → PNG)
    reuses figures already drawn for this data; the others are drawn here.
    """
    rendered = rendered or {}
    with open_reader(db_path) as con:
        studies = load_studies(con)
        names = _file_names(studies)
        pages: dict[str, Path] = {}
        shown: dict[str, list[str]] = {}
        entries: list[IndexEntry] = []
        for study in studies:
            plots = {
                kind: rendered[study.study_id][kind]
                if kind in rendered.get(study.study_id, {})
                else render(study)
                for kind, render in plot_renderers(limits).items()
            }
            page = study_page(ReportContext(study, plots, con), sections)
            pages[study.study_id] = write_atomic(out_dir / names[study.study_id], page)
            shown[study.study_id] = [k for k, png in plots.items() if png is not None]
            entries.append(
                IndexEntry(
                    study, names[study.study_id], [PLOT_TITLES[k] for k in shown[study.study_id]]
                )
            )
    index = write_atomic(out_dir / "index.html", index_page(entries))
    return WrittenReports(out_dir, index, pages, shown)
