"""Reading the warehouse, rendering every study's plots and writing the HTML pages.

The Dagster assets and anyone else (a notebook, a cron job) call these; nothing here knows about
Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from filelock import FileLock

from invivo_pipeline.reports.data import StudyData, load_studies, load_study, overviews
from invivo_pipeline.reports.drawing import PLOT_TITLES, drawn_in_order, workers_for
from invivo_pipeline.reports.files import png_path, slug, write_atomic
from invivo_pipeline.reports.fingerprints import (
    DrawnStudy,
    ReportState,
    load_state,
    save_state,
    settings_key,
    study_fingerprints,
)
from invivo_pipeline.reports.html import (
    SECTIONS,
    IndexEntry,
    ReportContext,
    Section,
    index_page,
    study_page,
)
from invivo_pipeline.reports.limits import DEFAULT_LIMITS, BodyWeightLimits
from invivo_pipeline.reports.stale_files import RunScope, StudyFiles, remove_stale
from invivo_pipeline.warehouse.duckdb_file import open_reader


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
    drawn: list[str] = field(default_factory=list)
    """The studies this run drew; the others' inputs had not changed since their last drawing."""
    failed: dict[str, dict[str, str]] = field(default_factory=dict)
    """study_id → the figures that could not be drawn (kind → why, one line). Their pages say
    so, and the next run draws those studies again."""
    removed: list[Path] = field(default_factory=list)
    """Pages and figures an earlier run left that this one replaced (``stale_files``): those of
    studies no longer in the warehouse, of an old study code, of a figure with no data now."""


RESERVED_NAMES = frozenset(
    {"index", "con", "prn", "aux", "nul"}
    | {f"{device}{n}" for device in ("com", "lpt") for n in range(1, 10)}
)
"""Page names a study may not take: the index, and the device names Windows will not open as files
(reports are often read from a file share)."""


class _FileNames:
    """Each study's file stem, in study order: its code (``<stem>.html``, ``<stem>-<kind>.png``);
    a code seen before, or a reserved name (a study coded ``index`` would overwrite the index),
    also gets the study id, so that two studies never share a page or a figure's file."""

    def __init__(self) -> None:
        self._taken: set[str] = set(RESERVED_NAMES)

    def __call__(self, study: StudyData) -> str:
        name = slug(study.code)
        if name.lower() in self._taken:  # two studies with one code: the id keeps them apart
            name = f"{name}-{slug(study.study_id)}"
        self._taken.add(name.lower())
        return name


OnPlots = Callable[[StudyData, Mapping[str, bytes | None], Mapping[str, Path]], None]
"""Receives each study (its summary only) with its figures (kind → PNG, or None if no data) and
the files they are kept in (kind → path; empty without a ``png_dir``)."""


def write_reports(
    db_path: Path,
    out_dir: Path,
    *,
    limits: BodyWeightLimits = DEFAULT_LIMITS,
    sections: Sequence[Section] = SECTIONS,
    pages: bool = True,
    kinds: Collection[str] | None = None,
    on_plots: OnPlots | None = None,
    png_dir: Path | None = None,
    incremental: bool = False,
    max_workers: int = 1,
) -> WrittenReports:
    """One HTML page per study plus ``index.html`` in ``out_dir``, each written atomically.

    ``db_path`` is held open until every study is drawn, and no other process can write a DuckDB
    file while it is open: give a copy from ``snapshot.report_snapshot`` rather than the
    warehouse itself when a sync may need to write meanwhile (the Dagster asset does).

    Studies are read, drawn and written one at a time, and only their summaries are kept for the
    index, so memory does not grow with the number of studies. ``on_plots`` sees each study's
    figures as they are drawn, and the files they are kept in; with ``pages=False`` only that
    happens, for the plot ``kinds`` (default: all). ``png_dir`` keeps each figure as
    ``<code>-<kind>.png`` (``<code>-<study id>-<kind>.png`` for a second study with that
    code, whose page is ``<code>-<study id>.html``). The read-only
    connection stays open while pages are built, so a section may query more than
    ``StudyData`` holds (flow cytometry tables, for one).

    With ``incremental``, a study whose report inputs are unchanged since the last run into
    ``out_dir`` (``fingerprints``) keeps its page and figure files, and is not read or drawn
    again; ``on_plots`` gets its figures from ``png_dir`` (without one, every study is drawn
    whenever ``on_plots`` is given). The index is always rewritten. Every run records the
    fingerprints, so a full run prepares the next incremental one. Two runs into one folder
    take turns.

    Whatever the settings, the pages and figures an earlier run left and this one replaced are
    removed once the index is written (``stale_files``): those of a study no longer in the
    warehouse, of a study's old code, of a figure whose data is gone. Other files in the folders
    are never touched.

    With ``max_workers`` above 1 the figures are drawn by up to that many worker processes (as
    many as the number of studies to draw makes worth starting). They are started with
    ``spawn``, which imports the caller's main module again: a script must keep its work under
    ``if __name__ == "__main__":``, as with any use of ``multiprocessing``.
    """
    # A page shows every kind; plots alone only those asked for.
    drawn_kinds = tuple(kinds) if kinds is not None and not pages else tuple(PLOT_TITLES)
    settings = settings_key(
        {
            "limits": limits,
            "sections": [build.__qualname__ for build in sections],
            "pages": pages,
            "kinds": drawn_kinds,
        }
    )
    keeps_figures = on_plots is None or png_dir is not None
    out_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out_dir / LOCK_FILE)), open_reader(db_path) as con:
        stored = load_state(out_dir, settings)
        previous = stored if incremental and keeps_figures else None
        fingerprints = study_fingerprints(con)
        studies = [_summary(study_id, overview) for study_id, overview in overviews(con)]
        names = _FileNames()
        stems = {study.study_id: names(study) for study in studies}
        page_names = {
            study_id: f"{stem}.html" if pages else None for study_id, stem in stems.items()
        }
        kept = {
            study.study_id: drawn
            for study in studies
            if previous is not None
            and (drawn := previous.unchanged(study.study_id, fingerprints.get(study.study_id)))
            and drawn.page == page_names[study.study_id]
            and _files_exist(out_dir, png_dir, stems[study.study_id], drawn)
        }
        to_draw = [study.study_id for study in studies if study.study_id not in kept]
        drawing = drawn_in_order(
            (load_study(con, study_id) for study_id in to_draw),
            workers=workers_for(len(to_draw), max_workers),
            limits=limits,
            kinds=drawn_kinds,
        )
        written: dict[str, Path] = {}
        shown: dict[str, list[str]] = {}
        entries: list[IndexEntry] = []
        state: dict[str, DrawnStudy] = {}
        files: dict[str, StudyFiles] = {}
        failures: dict[str, dict[str, str]] = {}
        with closing(drawing):  # a failure below stops the workers at once
            for summary in studies:
                study_id, name = summary.study_id, page_names[summary.study_id]
                stem = stems[study_id]
                drawn = kept.get(study_id)
                if drawn is None:
                    study, (plots, failed) = next(drawing)
                    if png_dir is not None:
                        for kind, png in plots.items():
                            if png is not None:
                                write_atomic(png_path(png_dir, stem, kind), png)
                    if name is not None:
                        page = study_page(ReportContext(study, plots, con, failed), sections)
                        write_atomic(out_dir / name, page)
                    figures = tuple(k for k, png in plots.items() if png is not None)
                    # A figure that failed is tried again by the next run, whatever the inputs
                    # (a failure for want of memory passes); the rest of the study is on file.
                    fingerprint = "" if failed else fingerprints.get(study_id, "")
                    drawn = DrawnStudy(fingerprint, name, figures)
                    if failed:
                        failures[study_id] = failed
                elif on_plots is not None:
                    assert png_dir is not None  # kept only when the figures are on file
                    plots = {
                        k: png_path(png_dir, stem, k).read_bytes() if k in drawn.figures else None
                        for k in drawn_kinds
                    }
                state[study_id] = drawn
                kept_as = (
                    {}
                    if png_dir is None
                    else {k: png_path(png_dir, stem, k) for k in drawn.figures}
                )
                files[study_id] = StudyFiles(name, {k: p.name for k, p in kept_as.items()})
                if on_plots is not None:
                    on_plots(summary, plots, kept_as)
                if name is None:
                    continue
                written[study_id] = out_dir / name
                shown[study_id] = list(drawn.figures)
                titles = [PLOT_TITLES[k] for k in drawn.figures]
                entries.append(IndexEntry(summary, name, titles))
        index = out_dir / "index.html"
        if pages:
            write_atomic(index, index_page(entries))
        # Only once the index no longer links them: a run that fails before leaves them listed.
        files, removed = remove_stale(
            stored.files, files, RunScope(pages, drawn_kinds, png_dir), out_dir
        )
        save_state(out_dir, ReportState(settings, state, files))
    return WrittenReports(
        out_dir, index, written, shown, drawn=to_draw, removed=removed, failed=failures
    )


LOCK_FILE = ".reports.lock"


def _summary(study_id: str, overview: dict[str, Any]) -> StudyData:
    return StudyData(study_id, overview, pd.DataFrame())


def _files_exist(out_dir: Path, png_dir: Path | None, stem: str, drawn: DrawnStudy) -> bool:
    """A kept study's files are all still there (someone may have deleted one)."""
    paths = [out_dir / drawn.page] if drawn.page is not None else []
    if png_dir is not None:
        paths += [png_path(png_dir, stem, kind) for kind in drawn.figures]
    return all(path.is_file() for path in paths)
