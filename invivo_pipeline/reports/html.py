"""One self-contained HTML page per study, and an index of them.

A page is an ordered list of section builders: each takes the study's ``ReportContext`` and returns
an HTML fragment, or ``None`` when its data is absent (a tox study has no growth curves and no TGI
table). A new kind of data is one more entry in ``SECTIONS``, as flow cytometry (Cytobank, read
through ``flow_tables``) is.

Pages inline their images as ``data:`` URIs and their CSS in a ``<style>`` element, so a page is one
file that opens anywhere (mailed, attached to an ELN) with no external request.
"""

from __future__ import annotations

import base64
import html
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from invivo_pipeline.reports.data import StudyData
from invivo_pipeline.reports.drawing import PLOT_TITLES
from invivo_pipeline.reports.flow_tables import (
    DEFAULT_POPULATION,
    MATCHED_FILES,
    POPULATION_BY_GROUP,
    flow_tables,
)

PlotKind = str
""""tumour_growth", "survival", "body_weight", "growth_forest"."""


@dataclass(frozen=True)
class ReportContext:
    """What a section builder may use: the study's data, its rendered plots, and the open
    read-only connection for sections that read more than ``StudyData`` holds."""

    study: StudyData
    plots: Mapping[PlotKind, bytes | None] = field(default_factory=dict)
    con: duckdb.DuckDBPyConnection | None = None
    failed: Mapping[PlotKind, str] = field(default_factory=dict)
    """The figures that could not be drawn: kind → why, in one line."""


Section = Callable[[ReportContext], str | None]

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 0 auto; max-width: 1180px; padding: 24px 32px 64px; color: #1f2328; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.sub { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.code { white-space: nowrap; }
th { background: #f6f8fa; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
.note { color: #57606a; font-size: 0.88rem; }
ul.help li { margin-bottom: 0.3rem; }
"""


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _cell(value: Any, digits: int) -> tuple[str, bool]:
    """(text, is_number) for one table cell: numbers rounded, missing values as an en dash."""
    if value is None or (
        pd.api.types.is_scalar(value) and not isinstance(value, str) and pd.isna(value)
    ):
        return "–", False
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), False
    if isinstance(value, datetime | date):  # pandas Timestamps too
        midnight = not isinstance(value, datetime) or value.time() == time(0)
        return (value.strftime("%Y-%m-%d") if midnight else value.strftime("%Y-%m-%d %H:%M")), False
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}", True
    if isinstance(value, numbers.Real):
        number = float(value)
        return (f"{number:,.0f}" if number.is_integer() else f"{number:,.{digits}f}"), True
    return str(value), False


def table_html(
    frame: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    caption: str | None = None,
    digits: int = 1,
) -> str:
    """An HTML table of ``frame``; ``columns`` maps column → heading and picks the order."""
    columns = columns or {c: c for c in frame.columns}
    head = "".join(f"<th>{esc(title)}</th>" for title in columns.values())
    body = []
    for record in frame[list(columns)].astype(object).to_dict("records"):
        cells = []
        for column in columns:
            text, numeric = _cell(record[column], digits)
            cells.append(
                f'<td class="num">{esc(text)}</td>' if numeric else f"<td>{esc(text)}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def section(title: str, *parts: str) -> str:
    return f"<section><h2>{esc(title)}</h2>{''.join(parts)}</section>"


def figure(png: bytes, alt: str) -> str:
    return f'<figure><img src="{png_data_uri(png)}" alt="{esc(alt)}"></figure>'


# --- the sections, in page order ------------------------------------------------------------------

OVERVIEW_FIELDS = {
    "study_code": "Code",
    "study_name": "Name",
    "status": "Status",
    "study_type": "Type",
    "day0_date": "Day 0",
    "days_since_day0": "Days since day 0",
    "last_measured_on": "Last measured",
    "n_groups": "Groups",
    "n_animals_enrolled": "Animals enrolled",
    "n_on_study": "On study",
    "n_terminated": "Terminated",
    "n_measurement_days": "Measurement days",
    "dosing_compliance_pct": "Dosing compliance (%)",
    "data_completeness_pct": "Data completeness (%)",
}


def overview_section(ctx: ReportContext) -> str | None:
    values = {**ctx.study.overview, "status": status_words(ctx.study)}
    rows = "".join(
        f"<tr><th>{esc(title)}</th><td>{esc(_cell(values.get(key), 1)[0])}</td></tr>"
        for key, title in OVERVIEW_FIELDS.items()
    )
    groups = table_html(
        ctx.study.groups.assign(control=ctx.study.groups["is_control"].map(bool)),
        {"group_no": "No.", "group_name": "Group", "control": "Control"},
        caption="Groups",
    )
    return section("Study overview", f"<table><tbody>{rows}</tbody></table>", groups)


HOW_TO_READ = """
<ul class="help">
<li><b>Tumour growth</b>: each point is the group mean tumour volume (mm³) on that study day, with
its standard error (SEM = SD/√n). The numbers under the plot are the animals measured. A group's
curve stops once fewer than <code>min_n</code> animals, or less than <code>min_frac</code> of the
group, remain: later means would only describe the survivors. The control group is the grey dashed
line with open squares.</li>
<li><b>TGI</b> (tumour growth inhibition) on the evaluation day, the last day every group (by
default; <code>eval_day_retention</code>) still meets those cut-offs: TGI = 100·(1 − ΔT/ΔC),
where Δ is the change in group mean volume since day 0; 100 % means no growth, above 100 %
regression. %T/C = 100·mean T / mean C (NCI: ≤ 42 % active, ≤ 10 % highly active). The marts
also give both on last-observation-carried-forward means (<code>*_locf</code>), which keep the
animals that left.</li>
<li><b>Waterfall</b>: one bar per animal, its best % change of tumour volume from day 0 between
day 10 (<code>mrecist_min_day</code>) and the evaluation day, labelled with its mRECIST class. <b>Spider</b>: each animal's own curve.</li>
<li><b>Kaplan–Meier</b>: the share of animals that have not had the event by each day.
Overall survival counts deaths and humane-endpoint euthanasia; planned sacrifices and animals alive
at the end are censored (tick marks). The tumour-volume and body-weight panels count reaching that
endpoint as the event.</li>
<li><b>Body weight</b>: group mean ± SEM of each animal's % change from its day-0 weight. The dotted
lines are the alert and humane-endpoint losses.</li>
<li>Every number comes from the dbt marts in the warehouse (<code>marts.rpt_*</code>); the settings
(day 0, cut-offs, endpoints) are the dbt vars in <code>dbt_project/dbt_project.yml</code>.</li>
</ul>
"""


def how_to_read_section(ctx: ReportContext) -> str | None:
    return section("How to read this report", HOW_TO_READ)


def failed_figures_section(ctx: ReportContext) -> str | None:
    """Which figures are missing because drawing them failed, and why: the rest of the page is
    complete, and a reader must not take a missing figure for missing data."""
    if not ctx.failed:
        return None
    items = "".join(
        f"<li>{esc(PLOT_TITLES.get(kind, kind))}: <code>{esc(reason)}</code></li>"
        for kind, reason in ctx.failed.items()
    )
    return section(
        "Figures that could not be drawn",
        '<p class="note">The data behind them is in the warehouse; the next reports run draws '
        f"them again.</p><ul>{items}</ul>",
    )


def _plot_section(kind: PlotKind, title: str, alt: str) -> Section:
    def build(ctx: ReportContext) -> str | None:
        png = ctx.plots.get(kind)
        return None if png is None else section(title, figure(png, f"{alt} — {ctx.study.title}"))

    build.__name__ = f"{kind}_section"
    return build


TGI_COLUMNS = {
    "group_name": "Group",
    "study_day": "Day",
    "n_t": "n (treated)",
    "n_c": "n (control)",
    "mean_t": "Mean T (mm³)",
    "mean_c": "Mean C (mm³)",
    "tgi_delta_pct": "TGI (%)",
    "pct_t_over_c": "%T/C",
    "regression_pct": "Regression (%)",
    "nci_activity_class": "NCI class",
}


def tgi_section(ctx: ReportContext) -> str | None:
    rows = ctx.study.tgi_at_eval_day
    if rows.empty:
        return None
    return section(
        "Tumour growth inhibition",
        table_html(rows, TGI_COLUMNS, caption="On the evaluation day, against the control group"),
    )


GROWTH_MODEL_COLUMNS = {
    "group_name": "Group",
    "n_animals": "Animals",
    "n_observations": "Volumes",
    "growth_rate_ratio": "Growth-rate ratio",
    "growth_rate_ratio_ci_lo": "95 % CI low",
    "growth_rate_ratio_ci_hi": "95 % CI high",
    "p_adj": "p (Holm)",
    "tgi_model_pct": "Model TGI (%)",
    "tgi_model_ci_lo": "TGI CI low",
    "tgi_model_ci_hi": "TGI CI high",
    "status": "Fit",
}


def growth_model_section(ctx: ReportContext) -> str | None:
    """The forest plot and the table of the mixed-effects model (every animal's volumes)."""
    rows = ctx.study.growth_model
    if rows.empty:
        return None
    treated = rows[~rows["is_control"].astype(bool)]
    png = ctx.plots.get("growth_forest")
    parts = [figure(png, f"Growth-rate ratios — {ctx.study.title}")] if png else []
    day = rows["eval_day"].dropna()
    caption = "Against the control, mixed-effects model of ln volume (all animals, all days)"
    if not day.empty:
        caption += f"; model TGI on day {int(day.iloc[0])}"
    parts.append(table_html(treated, GROWTH_MODEL_COLUMNS, caption=caption, digits=3))
    return section("Growth model", *parts)


SURVIVAL_COLUMNS = {
    "group_name": "Group",
    "n": "n",
    "events": "Events",
    "median_days": "Median (days)",
    "ils_pct": "ILS (%)",
    "hr": "Hazard ratio",
    "hr_method": "HR fit",
    "logrank_p_adj": "Log-rank p (Holm)",
}


def survival_section(ctx: ReportContext) -> str | None:
    png = ctx.plots.get("survival")
    if png is None:
        return None
    overall = ctx.study.survival[ctx.study.survival["endpoint_type"] == "overall"]
    summary = (
        table_html(overall, SURVIVAL_COLUMNS, caption="Overall survival", digits=3)
        if not overall.empty
        else ""
    )
    return section(
        "Survival (Kaplan–Meier)",
        figure(png, f"Kaplan–Meier — {ctx.study.title}"),
        summary,
        survival_conventions(ctx.study.survival),
    )


def survival_conventions(survival: pd.DataFrame) -> str:
    """The conventions behind the survival numbers, as the mart states them: how the median is
    read, what is an event and what is censored per endpoint, and which hazard-ratio fit."""
    if survival.empty or "median_method" not in survival:
        return ""
    per_endpoint = survival.drop_duplicates("endpoint_type")
    items = "".join(
        f"<li><b>{esc(r.endpoint_type)}</b>: event = {esc(r.event_definition)}; censored = "
        f"{esc(r.censor_definition)}.</li>"
        for r in per_endpoint.itertuples()
    )
    firth = (
        " Marked <i>firth</i>: the Cox fit has no estimate (an arm without events, or every event"
        " of one arm before the other's), so the ratio is Firth-penalised with a profile"
        " penalised-likelihood interval."
        if (survival["hr_method"] == "firth").any()
        else ""
    )
    return (
        f'<p class="note">Median: {esc(survival["median_method"].iloc[0])}. Hazard ratio: treated'
        f" vs control, Cox partial likelihood with Breslow ties.{firth}</p>"
        f'<ul class="note">{items}</ul>'
    )


TOLERABILITY_COLUMNS = {
    "group_name": "Group",
    "max_mean_loss_pct": "Max mean loss (%)",
    "day_of_max_loss": "On day",
    "n_ever_ge_alert": "Animals ≥ alert loss",
    "n_ever_ge_endpoint": "Animals ≥ endpoint loss",
    "tr_deaths": "Treatment-related deaths",
    "tolerated_flag": "Tolerated",
}


def body_weight_section(ctx: ReportContext) -> str | None:
    png = ctx.plots.get("body_weight")
    if png is None:
        return None
    bw = ctx.study.body_weight
    per_group = (
        bw.drop_duplicates("group_id")
        .merge(ctx.study.groups[["group_id", "group_name"]], on="group_id")
        .sort_values("group_no")
    )
    return section(
        "Body weight",
        figure(png, f"Body-weight change — {ctx.study.title}"),
        table_html(per_group, TOLERABILITY_COLUMNS, caption="Tolerability by group"),
    )


FLOW_BY_GROUP_COLUMNS = {
    "group": "Group",
    "sample_type": "Sample type",
    "day": "Study day",
    "n_files": "FCS files",
    "mean_pct_of_parent": "Mean % of parent",
    "sd_pct_of_parent": "SD",
}
FLOW_FILE_COLUMNS = {
    "fcs_file": "FCS file",
    "sample": "Sample",
    "animal": "Animal",
    "group": "Group",
    "day": "Study day",
    "sample_type": "Sample type",
    "link_method": "Linked by",
}


def flow_section(ctx: ReportContext) -> str | None:
    """FCS files linked to this study's animals (Cytobank), and a population statistic by group."""
    if ctx.con is None:
        return None
    tables = flow_tables(ctx.con, ctx.study.study_id)
    matched, by_group = tables[MATCHED_FILES], tables[POPULATION_BY_GROUP]
    if matched.empty:
        return None
    methods = matched.groupby("link_method").size().reset_index(name="files")
    return section(
        "Flow cytometry (Cytobank)",
        f"<p>{len(matched)} FCS files matched to this study's animals; how each was linked:</p>",
        table_html(methods, {"link_method": "Linked by", "files": "FCS files"}),
        table_html(
            by_group,
            FLOW_BY_GROUP_COLUMNS,
            caption=f"{DEFAULT_POPULATION}: % of parent by group, sample type and study day",
            digits=2,
        ),
        table_html(
            matched,
            FLOW_FILE_COLUMNS,
            caption="FCS files and the animal, group and study day they came from",
        ),
    )


DQ_COLUMNS = {
    "rule": "Rule",
    "animal_name": "Animal",
    "finding_on": "Date",
    "record_id": "Record",
    "detail": "Finding",
}


def data_quality_section(ctx: ReportContext) -> str | None:
    """The data-quality rules this study's records break (marts.dq_findings), or that none do.

    Always shown: "no findings" is worth saying. The findings never stop the reports; the numbers
    above are computed from the records as they are.
    """
    findings = ctx.study.dq_findings
    if findings.empty:
        return section(
            "Data quality",
            '<p class="note">No data-quality findings: every rule of '
            "<code>marts.dq_findings</code> holds for this study's records.</p>",
        )
    n = len(findings)
    shown = findings.assign(animal_name=findings["animal_name"].fillna(findings["animal_id"]))
    return section(
        "Data quality",
        f"<p>{n} finding{'' if n == 1 else 's'} on this study's records "
        "(<code>marts.dq_findings</code>). The report above is computed from the records as they "
        "are: correct them in In Vivo and the next sync recomputes it.</p>",
        table_html(shown, DQ_COLUMNS),
    )


SECTIONS: list[Section] = [
    overview_section,
    how_to_read_section,
    failed_figures_section,
    _plot_section("tumour_growth", "Tumour growth", "Tumour growth curves"),
    tgi_section,
    growth_model_section,
    _plot_section("waterfall", "Best response by animal", "Waterfall of best response"),
    _plot_section("spider", "Tumour volume by animal", "Spider plot of tumour volume"),
    survival_section,
    body_weight_section,
    flow_section,
    data_quality_section,
]
"""The page, top to bottom."""


def _page(title: str, subtitle: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f'<body><h1>{esc(title)}</h1><p class="sub">{esc(subtitle)}</p>{body}</body></html>\n'
    )


def status_words(study: StudyData) -> str:
    """ "in progress" for the API's ``in_progress``."""
    return str(study.overview.get("status") or "unknown status").replace("_", " ")


def _generated() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


EVERY_PAGE: tuple[Section, ...] = (overview_section, how_to_read_section, data_quality_section)
"""The sections every page shows, data or not."""


def study_page(ctx: ReportContext, sections: Sequence[Section] = SECTIONS) -> str:
    built = [(build, part) for build in sections if (part := build(ctx)) is not None]
    parts = [part for _, part in built]
    subtitle = (
        f"{status_words(ctx.study)} · generated {_generated()} from the invivo-pipeline warehouse"
    )
    if all(build in EVERY_PAGE for build, _ in built):  # nothing measured to show
        empty = section(
            "No measurements yet", '<p class="note">This study has no data to plot.</p>'
        )
        at = next((i for i, (b, _) in enumerate(built) if b is data_quality_section), len(parts))
        parts.insert(at, empty)
    return _page(ctx.study.title, subtitle, "".join(parts))


@dataclass(frozen=True)
class IndexEntry:
    study: StudyData
    href: str
    plots: Sequence[str]


def index_page(entries: Sequence[IndexEntry]) -> str:
    rows = "".join(
        "<tr>"
        f'<td class="code"><a href="{esc(e.href)}">{esc(e.study.code)}</a></td>'
        f"<td>{esc(e.study.name)}</td>"
        f"<td>{esc(status_words(e.study))}</td>"
        f'<td class="num">{esc(_cell(e.study.overview.get("n_animals_enrolled"), 0)[0])}</td>'
        f"<td>{esc(', '.join(e.plots) or '–')}</td>"
        "</tr>"
        for e in entries
    )
    table = (
        "<table><thead><tr><th>Study</th><th>Name</th><th>Status</th><th>Animals</th>"
        f"<th>Plots</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return _page(
        "In Vivo study reports",
        f"{len(entries)} studies · generated {_generated()}",
        table,
    )
