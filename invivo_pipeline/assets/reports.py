"""The reports as Dagster assets (group ``reports``): three plot assets whose materializations carry
each study's figure, and the HTML pages.

One step computes all four (a subsettable multi-asset): it reads the marts once, renders each
figure once and reuses it for the pages, and costs one process start under the multiprocess
executor instead of four. Each asset depends on exactly the marts its output is drawn from, so it
follows them in the lineage graph and in the automation (``follow_upstream``).

The figures are attached as Markdown images with ``data:`` URIs (``MetadataValue.md``), which the
Dagster UI renders in the materialization's metadata ("Show Markdown"); keys are the study's
title, ``"<code> · <name>"``.
"""

from collections.abc import Iterator

import dagster as dg

from invivo_pipeline.assets.dbt import DBT_PROJECT_DIR
from invivo_pipeline.assets.raw_tables import OWNERS
from invivo_pipeline.assets.resources import WarehouseResource
from invivo_pipeline.reports.build import (
    PLOT_TITLES,
    body_weight_limits,
    load_dbt_vars,
    plot_renderers,
    read_studies,
    write_reports,
)
from invivo_pipeline.reports.files import reports_dir, slug, write_atomic
from invivo_pipeline.reports.html import png_data_uri
from invivo_pipeline.warehouse import writer_lock

GROUP = "reports"
KINDS = {"python", "matplotlib"}


def _mart(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


GROUPS_MODEL = dg.AssetKey(["staging", "stg_study_groups"])
OVERVIEW = _mart("rpt_study_overview")

PLOT_ASSETS = {
    "tumour_growth": dg.AssetKey([GROUP, "tumour_growth_curves"]),
    "survival": dg.AssetKey([GROUP, "survival_curves"]),
    "body_weight": dg.AssetKey([GROUP, "body_weight_change"]),
}
STUDY_REPORTS = dg.AssetKey([GROUP, "study_reports"])

_PLOT_DEPS = {
    "tumour_growth": [_mart("rpt_group_day_summary")],
    "survival": [_mart("rpt_km_curve")],
    "body_weight": [_mart("rpt_bw_tolerability")],
}
_PLOT_DESCRIPTIONS = {
    "tumour_growth": "Tumour growth curves per study: group mean ± SEM tumour volume (mm³) by "
    "study day, with n measured, the control dashed. Curves stop where the group falls below "
    "the `min_n` / `min_frac` cut-off. Studies without tumour data (tox) are skipped.",
    "survival": "Kaplan–Meier curves per study and group, one panel per endpoint (overall, "
    "tumour-volume endpoint, body-weight-loss endpoint), with censor ticks.",
    "body_weight": "Body-weight change per study: group mean ± SEM % change from day 0 by study "
    "day, with the alert and humane-endpoint lines (dbt vars `bw_alert_pct`, `bw_endpoint_pct`).",
}


def _spec(key: dg.AssetKey, deps: list[dg.AssetKey], description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=key,
        deps=[*deps, OVERVIEW, GROUPS_MODEL],
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
        [
            _mart("rpt_group_day_summary"),
            _mart("rpt_tgi_by_day"),
            _mart("rpt_km_curve"),
            _mart("rpt_survival_summary"),
            _mart("rpt_bw_tolerability"),
            _mart("fct_flow_sample"),
            _mart("rpt_flow_population_stats"),
        ],
        "One self-contained HTML report per study (overview, how to read it, growth curves, TGI "
        "table, survival, body weight, and the Cytobank FCS files with a population by group "
        "when that source is on; images inlined) and an index.html, in INVIVO_REPORTS_DIR or "
        "`reports/` beside the DuckDB file.",
    ),
]


def image_markdown(title: str, png: bytes) -> str:
    """How a figure shows in the UI: a Markdown image whose source is the PNG itself."""
    return f"![{title}]({png_data_uri(png)})"


@dg.multi_asset(name="invivo_reports", specs=SPECS, can_subset=True, pool="duckdb_writer")
def invivo_reports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    """Read the marts, render each study's figures, write the pages."""
    db_path = warehouse.warehouse().path
    out_dir = reports_dir(db_path)
    limits = body_weight_limits(load_dbt_vars(DBT_PROJECT_DIR))
    selected = context.selected_asset_keys
    plot_kinds = [kind for kind, key in PLOT_ASSETS.items() if key in selected]
    # DuckDB lets no other process write while a reader has the file open, and no reader in while
    # a writer has it: queue on the pipeline's writer lock like every load and dbt build, for the
    # few seconds this step reads.
    with writer_lock(db_path, timeout=warehouse.lock_timeout_s):
        rendered: dict[str, dict[str, bytes | None]] = {}
        if plot_kinds:
            studies = read_studies(db_path)
            renderers = plot_renderers(limits)
            for kind in plot_kinds:
                metadata: dict[str, dg.RawMetadataValue] = {}
                files: list[str] = []
                skipped: list[str] = []
                for study in studies:
                    png = rendered.setdefault(study.study_id, {})[kind] = renderers[kind](study)
                    if png is None:
                        skipped.append(study.code)
                        continue
                    what = f"{PLOT_TITLES[kind]} — {study.title}"
                    metadata[study.title] = dg.MetadataValue.md(image_markdown(what, png))
                    path = write_atomic(out_dir / "png" / f"{slug(study.code)}-{kind}.png", png)
                    files.append(str(path))
                yield dg.MaterializeResult(
                    asset_key=PLOT_ASSETS[kind],
                    metadata={
                        "studies_plotted": len(files),
                        "studies_without_data": dg.MetadataValue.json(skipped),
                        "png_files": dg.MetadataValue.json(files),
                        **metadata,
                    },
                )
        if STUDY_REPORTS in selected:
            written = write_reports(db_path, out_dir, limits=limits, rendered=rendered)
            yield dg.MaterializeResult(
                asset_key=STUDY_REPORTS,
                metadata={
                    "index": dg.MetadataValue.path(str(written.index)),
                    "open": dg.MetadataValue.url(written.index.as_uri()),
                    "directory": dg.MetadataValue.path(str(written.directory)),
                    "studies": len(written.pages),
                    "pages": dg.MetadataValue.json(
                        {study_id: str(page) for study_id, page in written.pages.items()}
                    ),
                },
            )
