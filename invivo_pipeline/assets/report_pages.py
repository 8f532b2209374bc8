"""The reports as Dagster assets (group ``reports``): three plot assets whose materializations carry
each study's figure, and the HTML pages.

One step computes all four (a subsettable multi-asset): it goes through the studies once, one at
a time (memory does not grow with their number), renders each figure once and reuses it for the
pages, and costs one process start under the multiprocess executor instead of four. Each asset
depends on exactly the marts its output is drawn from, so it follows them in the lineage graph
and in the automation (``follow_upstream``).

The figures are attached as Markdown images with ``data:`` URIs (``MetadataValue.md``), which the
Dagster UI renders in the materialization's metadata ("Show Markdown"); keys are the study's
title, ``"<code> · <name>"``. The first ``FIGURES_IN_METADATA`` studies are shown so; every study's
PNG file is listed.
"""

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from invivo_pipeline.assets.dbt import DBT_PROJECT_DIR
from invivo_pipeline.assets.raw_tables import OWNERS
from invivo_pipeline.assets.warehouse_resource import WarehouseResource
from invivo_pipeline.reports.build import (
    PLOT_TITLES,
    body_weight_limits,
    load_dbt_vars,
    write_reports,
)
from invivo_pipeline.reports.data import TABLES_READ, StudyData
from invivo_pipeline.reports.drawing import report_workers
from invivo_pipeline.reports.files import reports_dir
from invivo_pipeline.reports.html import png_data_uri
from invivo_pipeline.reports.snapshot import report_snapshot

GROUP = "reports"
FIGURES_IN_METADATA = 24
"""Studies whose figure each plot asset shows in the UI; the PNG files cover every study."""
KINDS = {"python", "matplotlib"}


def _mart(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


GROUPS_MODEL = dg.AssetKey(["staging", "stg_study_groups"])
OVERVIEW = _mart("rpt_study_overview")

PLOT_ASSETS = {
    "tumour_growth": dg.AssetKey([GROUP, "tumour_growth_curves"]),
    "survival": dg.AssetKey([GROUP, "survival_curves"]),
    "body_weight": dg.AssetKey([GROUP, "body_weight_change"]),
    "growth_forest": dg.AssetKey([GROUP, "growth_rate_forest_plots"]),
    "waterfall": dg.AssetKey([GROUP, "tumour_response_waterfall"]),
    "spider": dg.AssetKey([GROUP, "tumour_response_spider"]),
}
STUDY_REPORTS = dg.AssetKey([GROUP, "study_reports"])

_PLOT_DEPS = {
    "tumour_growth": [_mart("rpt_group_day_summary")],
    "survival": [_mart("rpt_km_curve")],
    "body_weight": [_mart("rpt_bw_tolerability")],
    "growth_forest": [_mart("rpt_growth_model")],
    "waterfall": [_mart("rpt_animal_waterfall")],
    "spider": [_mart("fct_animal_day")],
}
_PLOT_DESCRIPTIONS = {
    "tumour_growth": "Tumour growth curves per study: group mean ± SEM tumour volume (mm³) by "
    "study day, with n measured, the control dashed. Curves stop where the group falls below "
    "the `min_n` / `min_frac` cut-off. Studies without tumour data (tox) are skipped.",
    "survival": "Kaplan–Meier curves per study and group, one panel per endpoint (overall, "
    "tumour-volume endpoint, body-weight-loss endpoint), with censor ticks.",
    "body_weight": "Body-weight change per study: group mean ± SEM % change from day 0 by study "
    "day, with the alert and humane-endpoint lines (dbt vars `bw_alert_pct`, `bw_endpoint_pct`).",
    "growth_forest": "Forest plot per study: each treated group's growth-rate ratio against the "
    "control with its 95 % CI and Holm-adjusted p, from the mixed-effects model of ln tumour "
    "volume (rpt_growth_model). Studies without a fitted model are skipped.",
    "waterfall": "Waterfall per study: each animal's best % change of tumour volume from day 0 "
    "up to the evaluation day, sorted, coloured by group, with its mRECIST class.",
    "spider": "Spider plot per study: each animal's % change of tumour volume from day 0 by "
    "study day, one panel per group.",
}


def _spec(key: dg.AssetKey, deps: list[dg.AssetKey], description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=key,
        deps=list(dict.fromkeys([*deps, OVERVIEW, GROUPS_MODEL])),
        description=description,
        group_name=GROUP,
        kinds=KINDS,
        owners=OWNERS,
        skippable=True,
    )


SPECS = [
    *(_spec(PLOT_ASSETS[k], _PLOT_DEPS[k], _PLOT_DESCRIPTIONS[k]) for k in PLOT_ASSETS),
    _spec(
        STUDY_REPORTS,
        # The pages read every table the reports read (the Cytobank section the flow marts).
        [dg.AssetKey([schema, name]) for schema, name in TABLES_READ],
        "One self-contained HTML report per study (overview, how to read it, growth curves, TGI "
        "table, survival, body weight, and the Cytobank FCS files with a population by group "
        "when that source is on; images inlined) and an index.html, in INVIVO_REPORTS_DIR or "
        "`reports/` beside the DuckDB file.",
    ),
]


def markdown_text(text: str) -> str:
    """The tenant's text as Markdown alt text that shows it literally: the characters that could
    close the alt text, open a link, image, code span or raw HTML are backslash-escaped and line
    breaks folded, so a study title cannot add a link or an image fetched from another host when
    the UI renders the metadata. Ordinary titles ("ONC-26-001 · MC38") come through unchanged."""
    return _MARKDOWN_SPECIAL.sub(r"\\\g<0>", " ".join(text.split()))


_MARKDOWN_SPECIAL = re.compile(r"[\\\[\]()<>!`]")


def image_markdown(title: str, png: bytes) -> str:
    """How a figure shows in the UI: a Markdown image whose source is the PNG itself."""
    return f"![{markdown_text(title)}]({png_data_uri(png)})"


# Not in the ``duckdb_writer`` pool: it holds the writer lock only while it copies its snapshot,
# under a second, and a pool slot for its whole drawing would hold every load back for minutes.
@dg.multi_asset(name="invivo_reports", specs=SPECS, can_subset=True)
def invivo_reports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    """Read the marts, redraw the studies whose inputs changed (all on the first run), write the
    pages and the index."""
    db_path = warehouse.warehouse().path
    out_dir = reports_dir(db_path)
    limits = body_weight_limits(load_dbt_vars(DBT_PROJECT_DIR))
    selected = context.selected_asset_keys
    plot_kinds = [kind for kind, key in PLOT_ASSETS.items() if key in selected]
    # DuckDB lets no other process write while a reader has the file open, and no reader in while
    # a writer has it, so this step queues on the pipeline's writer lock like every load and dbt
    # build, but holds it only while it copies the tables it reads into a snapshot of its own
    # (seconds); it draws, for minutes on a large tenant, from the snapshot with the lock released.
    shown = {kind: _Shown(kind) for kind in plot_kinds}

    def on_plots(
        study: StudyData, plots: Mapping[str, bytes | None], files: Mapping[str, Path]
    ) -> None:
        for kind, plot in shown.items():
            plot.add(study, plots.get(kind), files.get(kind))

    with report_snapshot(db_path, lock_timeout=warehouse.lock_timeout_s) as snapshot:
        written = write_reports(
            snapshot,
            out_dir,
            limits=limits,
            pages=STUDY_REPORTS in selected,
            kinds=plot_kinds,
            on_plots=on_plots if plot_kinds else None,
            png_dir=out_dir / PNG_DIR,
            incremental=True,
            max_workers=report_workers(),
        )
    for study_id, failed in written.failed.items():
        for kind, reason in failed.items():
            context.log.warning(
                f"study {study_id}: its {PLOT_TITLES[kind]} could not be drawn: {reason}"
            )
    for kind, plot in shown.items():
        yield dg.MaterializeResult(
            asset_key=PLOT_ASSETS[kind], metadata=plot.metadata(written.failed)
        )
    if STUDY_REPORTS in selected:
        yield dg.MaterializeResult(
            asset_key=STUDY_REPORTS,
            metadata={
                "index": dg.MetadataValue.path(str(written.index)),
                "open": dg.MetadataValue.url(written.index.as_uri()),
                "directory": dg.MetadataValue.path(str(written.directory)),
                "studies": len(written.pages),
                "studies_redrawn": len(written.drawn),
                "stale_files_removed": len(written.removed),
                "figures_failed": dg.MetadataValue.json(written.failed),
                "pages": dg.MetadataValue.json(
                    {study_id: str(page) for study_id, page in written.pages.items()}
                ),
            },
        )


PNG_DIR = "png"
"""The folder in the reports folder where every figure is kept as a PNG file."""


class _Shown:
    """One plot asset's figures: each kept as a PNG file, the first ``FIGURES_IN_METADATA``
    also shown in the UI (a tenant's hundreds of inlined images would bloat the event log and
    the step's memory; the rest are listed as files)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.files: list[str] = []
        self.without_figure: list[StudyData] = []
        self.figures: dict[str, Any] = {}

    def add(self, study: StudyData, png: bytes | None, file: Path | None) -> None:
        """``file``: where the figure is kept (``write_reports(png_dir=...)``)."""
        if png is None:
            self.without_figure.append(study)
            return
        if file is not None:
            self.files.append(str(file))
        if len(self.figures) < FIGURES_IN_METADATA:
            what = f"{PLOT_TITLES[self.kind]} — {study.title}"
            self.figures[study.title] = dg.MetadataValue.md(image_markdown(what, png))

    def metadata(self, failed: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
        """``failed``: the run's figures that could not be drawn (``WrittenReports.failed``),
        told apart here from the studies that have no data for this figure."""
        reasons = {
            s.study_id: failed.get(s.study_id, {}).get(self.kind) for s in self.without_figure
        }
        return {
            "studies_plotted": len(self.files),
            "studies_without_data": dg.MetadataValue.json(
                [s.code for s in self.without_figure if reasons[s.study_id] is None]
            ),
            "figures_failed": dg.MetadataValue.json(
                {study_id: why for study_id, why in reasons.items() if why is not None}
            ),
            "png_files": dg.MetadataValue.json(self.files),
            "figures_shown_here": len(self.figures),
            **self.figures,
        }
