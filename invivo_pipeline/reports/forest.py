"""The forest plot of each treated group's growth-rate ratio against the control, with its
confidence interval (``marts.rpt_growth_model``), and the rows it is drawn from.

A ratio of 1 is no effect, 0 is stasis (tumours neither grow nor shrink) and below 0 regression;
the Holm-adjusted p of each group is written beside its interval. A study whose model failed, or
whose control does not grow (no ratio), has no forest plot.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from invivo_pipeline.reports.data import StudyData
from invivo_pipeline.reports.plots import _figure, _png
from invivo_pipeline.reports.style import group_styles


def forest_rows(study: StudyData) -> pd.DataFrame:
    """Treated groups with a growth-rate ratio and its interval, in group order."""
    frame = study.growth_model
    if frame.empty:
        return frame
    rows = frame[
        ~frame["is_control"].astype(bool)
        & frame["growth_rate_ratio"].notna()
        & frame["growth_rate_ratio_ci_lo"].notna()
    ]
    return rows.sort_values("group_no").reset_index(drop=True)


def _p_text(p: float | None) -> str:
    if p is None or pd.isna(p):
        return "p –"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def forest_png(study: StudyData) -> bytes | None:
    rows = forest_rows(study)
    if rows.empty:
        return None
    styles = group_styles(study.groups)
    with _figure() as fig:
        ax = fig.add_subplot(1, 1, 1)
        positions = list(range(len(rows), 0, -1))  # the first group on top
        for y, row in zip(positions, rows.itertuples(index=False), strict=True):
            style = styles.get(row.group_id)
            colour = style.colour if style else "#444444"
            ax.plot(
                [row.growth_rate_ratio_ci_lo, row.growth_rate_ratio_ci_hi],
                [y, y],
                color=colour,
                linewidth=2.2,
            )
            ax.plot(row.growth_rate_ratio, y, marker="s", markersize=8, color=colour)
            ax.annotate(
                f"{row.growth_rate_ratio:.2f} ({row.growth_rate_ratio_ci_lo:.2f} to "
                f"{row.growth_rate_ratio_ci_hi:.2f}), {_p_text(row.p_adj)}",
                xy=(1.01, y),
                xycoords=("axes fraction", "data"),
                va="center",
                fontsize=9,
                color=colour,
            )
        ax.axvline(1.0, color="#57606a", linestyle="--", linewidth=1)
        ax.axvline(0.0, color="#57606a", linestyle=":", linewidth=1)
        ax.set_yticks(positions, [str(name) for name in rows["group_name"]])
        ax.set_ylim(0.4, len(rows) + 0.6)
        ax.set_xlabel(
            "Growth-rate ratio treated / control (ln volume per day), "
            f"95 % CI; {rows['p_adj_method'].iloc[0].capitalize()}-adjusted p"
        )
        ax.set_title(f"Growth-rate ratios — {study.title}", loc="left")
        ax.text(
            0.0,
            -0.16,
            "1 = grows like control · 0 = stasis · < 0 = regression "
            "(mixed-effects model of ln volume, rpt_growth_model)",
            transform=ax.transAxes,
            fontsize=8.5,
            color="#57606a",
        )
        fig.subplots_adjust(left=0.3, right=0.7, bottom=0.18)
        plt.setp(ax.get_yticklabels(), fontsize=9)
        return _png(fig)
