"""The three figures scientists look at first, rendered to PNG bytes with matplotlib (Agg).

- Tumour growth: group mean ± SEM of tumour volume by study day, with the number of animals
  measured under the plot (the curve stops where dbt's ``plot_ok`` cut-off says n became too small).
- Kaplan–Meier: survival step curves by group with censor ticks, one panel per endpoint.
- Body weight: group mean ± SEM of the % change from baseline, with the alert and endpoint lines.

Each returns ``None`` when the study has no such data (a tox study has no tumours, a draft study
has nothing), so callers skip the figure instead of drawing an empty frame.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")  # before pyplot: never a display, also under a Dagster worker

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from invivo_pipeline.reports.data import StudyData
from invivo_pipeline.reports.limits import DEFAULT_LIMITS, BodyWeightLimits
from invivo_pipeline.reports.style import GroupStyle, group_styles

DPI = 110
FIGSIZE = (10.0, 6.4)
"""1100 × 704 px: readable in the Dagster UI's metadata dialog and in the HTML page."""

ENDPOINT_TITLES = {
    "overall": "Overall survival",
    "tumor_volume": "Time to tumour-volume endpoint",
    "bw_loss": "Time to body-weight-loss endpoint",
}
KM_DODGE = 0.006
"""Vertical offset between groups' KM curves so identical curves (all at 100 %) stay visible."""

RC = {
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
    "legend.fontsize": 9,
    # Study and group names are the tenant's text, drawn as written: "$5 vs $10" is money, not
    # TeX (mathtext would render it as math, or fail the whole report on an unbalanced "$").
    "text.parse_math": False,
}


@contextmanager
def _figure(nrows: int = 1, ncols: int = 1, **kwargs: object) -> Iterator[Figure]:
    with plt.rc_context(RC):
        fig = plt.figure(figsize=FIGSIZE, dpi=DPI, **kwargs)
        try:
            yield fig
        finally:
            plt.close(fig)


PNG_COMPRESS_LEVEL = 1
"""zlib's fastest level. Pillow's default (6) spent about a tenth of each figure's drawing time on
compression, for files only about 8 % smaller (docs/performance.md)."""


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(
        buffer,
        format="png",
        dpi=DPI,
        facecolor="white",
        pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
    )
    return buffer.getvalue()


def _short_label(style: GroupStyle) -> str:
    """ "G3" from "G3 NWB-5231 10 mg/kg QD": the n table's row label."""
    first = style.label.split()[0] if style.label else "?"
    return first if len(first) <= 4 else style.label[:6]


def _n_table(
    ax: plt.Axes,
    series: Mapping[str, pd.Series],
    styles: Mapping[str, GroupStyle],
    title: str,
) -> None:
    """A row per group of n at the x-axis's tick days, under the plot, like a KM at-risk table."""
    ax.set_axis_off()
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi and float(t).is_integer()]
    rows = [gid for gid in styles if gid in series]
    slots = len(rows) + 1
    ax.text(
        0.0, 1.0 - 0.5 / slots, title, transform=ax.transAxes, ha="left", va="center", fontsize=8
    )
    for i, gid in enumerate(rows):
        y = 1.0 - (i + 1.5) / slots
        style = styles[gid]
        ax.text(
            -0.01,
            y,
            _short_label(style),
            transform=ax.transAxes,
            ha="right",
            va="center",
            color=style.colour,
            fontsize=8.5,
            fontweight="bold",
        )
        for day in ticks:
            n = series[gid].get(int(day))
            ax.text(
                day,
                y,
                "–" if n is None or pd.isna(n) else f"{int(n)}",
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="center",
                fontsize=8.5,
                color=style.colour,
            )


def _with_n_table(fig: Figure, n_groups: int) -> tuple[plt.Axes, plt.Axes]:
    table_height = 0.2 + 0.17 * (n_groups + 1)
    grid = fig.add_gridspec(2, 1, height_ratios=[5.0, table_height], hspace=0.22)
    ax = fig.add_subplot(grid[0])
    table = fig.add_subplot(grid[1], sharex=ax)
    return ax, table


def _mean_sem_curves(
    ax: plt.Axes,
    frame: pd.DataFrame,
    styles: Mapping[str, GroupStyle],
    mean: str,
    sem: str,
    n: str,
) -> dict[str, pd.Series]:
    """One mean ± SEM line per group by study day, in the group's style; n per group and day."""
    n_by_group: dict[str, pd.Series] = {}
    for gid, style in styles.items():
        rows = frame[frame["group_id"] == gid]
        ax.errorbar(
            rows["study_day"],
            rows[mean],
            yerr=rows[sem].fillna(0.0),
            capsize=3,
            linewidth=1.8,
            markersize=5,
            elinewidth=1,
            **style.line_kwargs(),
        )
        n_by_group[gid] = rows.set_index("study_day")[n]
    return n_by_group


def tumour_growth_png(study: StudyData) -> bytes | None:
    """Group mean ± SEM tumour volume by study day; ``None`` when the study has no tumour data."""
    growth = study.growth
    if growth.empty:
        return None
    styles = {g: s for g, s in group_styles(study.groups).items() if g in set(growth["group_id"])}
    with _figure() as fig:
        ax, table = _with_n_table(fig, len(styles))
        n_by_group = _mean_sem_curves(ax, growth, styles, "mean", "sem", "n_measured")
        ax.set_title(f"Tumour growth — {study.title}", loc="left")
        ax.set_ylabel("Tumour volume (mm³), mean ± SEM")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", ncols=1)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("Study day")
        fig.subplots_adjust(left=0.1, right=0.97, top=0.93, bottom=0.03)
        _n_table(table, n_by_group, styles, "n measured")
        return _png(fig)


def _km_xy(rows: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Step-curve points: S = 1 from day 0 up to the first row, then S after each row's time."""
    times = [0.0, *rows["event_time"].astype(float)]
    surv = [1.0, *rows["surv"].astype(float)]
    return times, surv


def survival_png(study: StudyData) -> bytes | None:
    """Kaplan–Meier curves by group, one panel per endpoint; ``None`` without survival data."""
    km = study.km
    if km.empty:
        return None
    endpoints = [e for e in ENDPOINT_TITLES if e in set(km["endpoint_type"])]
    styles = {g: s for g, s in group_styles(study.groups).items() if g in set(km["group_id"])}
    n_start = (
        km.sort_values("event_time").groupby(["endpoint_type", "group_id"])["n_at_risk"].first()
    )
    with _figure() as fig:
        axes = fig.subplots(1, len(endpoints), sharey=True, squeeze=False)[0]
        for ax, endpoint in zip(axes, endpoints, strict=True):
            rows = km[km["endpoint_type"] == endpoint]
            for i, (gid, style) in enumerate(styles.items()):
                group = rows[rows["group_id"] == gid].sort_values("event_time")
                if group.empty:
                    continue
                dodge = (i - (len(styles) - 1) / 2) * KM_DODGE
                times, surv = _km_xy(group)
                surv = [100 * (s + dodge) for s in surv]
                kwargs = style.line_kwargs()
                n = n_start.get((endpoint, gid))
                ax.step(
                    times,
                    surv,
                    where="post",
                    color=style.colour,
                    linestyle=style.linestyle,
                    linewidth=1.8,
                    label=f"{style.label} (n={int(n)})" if n is not None else style.label,
                )
                censored = group[group["n_censor"] > 0]
                ax.plot(
                    censored["event_time"],
                    [100 * (s + dodge) for s in censored["surv"]],
                    linestyle="none",
                    marker="|",
                    markersize=11,
                    markeredgewidth=1.6,
                    color=kwargs["color"],
                )
            ax.set_title(ENDPOINT_TITLES[endpoint], loc="left", fontsize=10.5)
            ax.set_xlabel("Days from day 0")
            ax.set_xlim(left=0)
            ax.set_ylim(-3, 105)
        axes[0].set_ylabel("Animals without the event (%)")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.suptitle(f"Kaplan–Meier survival — {study.title}", x=0.01, ha="left", weight="bold")
        legend_rows = (len(labels) + 2) // 3
        fig.legend(
            handles,
            labels,
            loc="lower center",
            bbox_to_anchor=(0.5, 0.035),
            ncols=min(3, len(labels)),
        )
        fig.text(
            0.01,
            0.008,
            "| = censored. Curves are offset by up to ±1.5 points so identical curves stay visible.",
            ha="left",
            va="bottom",
            fontsize=7.5,
            color="#555555",
        )
        fig.subplots_adjust(
            left=0.08, right=0.98, top=0.9, bottom=0.17 + 0.045 * legend_rows, wspace=0.08
        )
        return _png(fig)


def body_weight_png(study: StudyData, limits: BodyWeightLimits = DEFAULT_LIMITS) -> bytes | None:
    """Group mean ± SEM body-weight change (%) by study day; ``None`` without weights."""
    bw = study.body_weight
    if bw.empty:
        return None
    styles = {g: s for g, s in group_styles(study.groups).items() if g in set(bw["group_id"])}
    with _figure() as fig:
        ax, table = _with_n_table(fig, len(styles))
        n_by_group = _mean_sem_curves(ax, bw, styles, "mean_bw_pct_chg", "sem_bw_pct_chg", "n")
        ax.axhline(0, color="#888888", linewidth=0.9)
        for pct, what in ((limits.alert_pct, "alert"), (limits.endpoint_pct, "humane endpoint")):
            ax.axhline(-pct, color="#B22222", linewidth=0.9, linestyle=":")
            ax.text(
                1.0,
                -pct,
                f" −{pct:g} % {what}",
                transform=ax.get_yaxis_transform(),
                ha="right",
                va="bottom",
                fontsize=8,
                color="#B22222",
            )
        low = min(float(bw["mean_bw_pct_chg"].min()) - 2, -limits.endpoint_pct - 2)
        ax.set_ylim(bottom=low)
        ax.set_title(f"Body-weight change — {study.title}", loc="left")
        ax.set_ylabel("Body weight change from day 0 (%), mean ± SEM")
        ax.legend(loc="best", ncols=2)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("Study day")
        fig.subplots_adjust(left=0.1, right=0.97, top=0.93, bottom=0.03)
        _n_table(table, n_by_group, styles, "n weighed")
        return _png(fig)
