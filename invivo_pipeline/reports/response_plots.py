"""Per-animal tumour response figures, rendered to PNG bytes like ``plots``:

- Waterfall: one bar per animal, its best % change of tumour volume from baseline up to the
  evaluation day (mRECIST's best response, ``marts.rpt_animal_waterfall``), sorted from worst to best, coloured by group,
  with its mRECIST class under the bar. Group means hide the responders and the non-responders
  inside a group; a waterfall shows them.
- Spider: one panel per group, one line per animal of its % change from baseline by study day
  (``marts.fct_animal_day``), so an animal that left early is a short line, not a lower mean.

Each returns ``None`` when the study has no such data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from invivo_pipeline.reports.data import StudyData
from invivo_pipeline.reports.plots import _figure, _png
from invivo_pipeline.reports.style import group_styles


def waterfall_png(study: StudyData) -> bytes | None:
    """Best response per animal up to the evaluation day; ``None`` without tumour responses."""
    rows = study.waterfall
    if rows.empty:
        return None
    styles = group_styles(study.groups)
    ordered = rows.sort_values(["best_pct_change", "animal_id"], ascending=[False, True])
    ordered = ordered.reset_index(drop=True)
    with _figure() as fig:
        ax = fig.add_subplot(1, 1, 1)
        colours = [styles[g].colour if g in styles else "#888888" for g in ordered["group_id"]]
        ax.bar(ordered.index, ordered["best_pct_change"], color=colours, width=0.8)
        for x, (value, cls) in enumerate(
            zip(ordered["best_pct_change"], ordered["mrecist"], strict=True)
        ):
            if isinstance(cls, str):
                ax.text(
                    x,
                    0,
                    f" {cls} ",
                    rotation=90,
                    ha="center",
                    va="top" if value >= 0 else "bottom",
                    fontsize=6.5,
                    color="#333333",
                )
        for pct, what in ((-30, "−30 %"), (20, "+20 %")):
            ax.axhline(pct, color="#888888", linewidth=0.8, linestyle=":")
            ax.text(
                1.0,
                pct,
                f" {what}",
                transform=ax.get_yaxis_transform(),
                fontsize=7.5,
                color="#555555",
                va="bottom",
                ha="right",
            )
        ax.axhline(0, color="#444444", linewidth=0.9)
        present = [g for g in styles if g in set(ordered["group_id"])]
        handles = [Patch(facecolor=styles[g].colour, label=styles[g].label) for g in present]
        ax.legend(handles=handles, loc="upper right", ncols=2)
        eval_day = ordered["eval_day"].dropna()
        day = f"day {int(eval_day.iloc[0])}" if not eval_day.empty else "the evaluation day"
        ax.set_title(f"Best response up to {day} — {study.title}", loc="left")
        ax.set_ylabel("Best change in tumour volume from day 0 (%)")
        ax.set_xlabel("Animals (labels: mRECIST class)")
        ax.set_xticks([])
        fig.subplots_adjust(left=0.1, right=0.97, top=0.93, bottom=0.07)
        return _png(fig)


def _broken_at_each_animal(group: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Every animal's days and changes in one pair of arrays, a NaN between two animals.

    matplotlib breaks a line at a NaN, so the group's animals are drawn as one line (one artist)
    instead of one each: each artist has a set-up cost of its own, and one per animal was about a
    tenth of the spider's drawing time (docs/performance.md).
    """
    ordered = group.sort_values(["animal_id", "study_day"], kind="stable")
    days = ordered["study_day"].to_numpy(dtype=float)
    changes = ordered["pct_dv"].to_numpy(dtype=float)
    starts = np.flatnonzero(ordered["animal_id"].ne(ordered["animal_id"].shift()).to_numpy())[1:]
    return np.insert(days, starts, np.nan), np.insert(changes, starts, np.nan)


def spider_png(study: StudyData) -> bytes | None:
    """% change from baseline per animal by day, a panel per group; ``None`` without tumours."""
    curves = study.animal_curves
    if curves.empty:
        return None
    styles = {g: s for g, s in group_styles(study.groups).items() if g in set(curves["group_id"])}
    columns = min(3, len(styles))
    rows = math.ceil(len(styles) / columns)
    with _figure() as fig:
        axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).ravel()
        for ax, (gid, style) in zip(axes, styles.items(), strict=False):  # spare panels stay blank
            group = curves[curves["group_id"] == gid]
            days, changes = _broken_at_each_animal(group)
            ax.plot(
                days,
                changes,
                color=style.colour,
                linewidth=1.0,
                alpha=0.8,
                marker="o",
                markersize=2,
            )
            ax.axhline(0, color="#444444", linewidth=0.8)
            n = group["animal_id"].nunique()
            ax.set_title(f"{style.label} (n={n})", loc="left", fontsize=9.5)
        for ax in axes[len(styles) :]:
            ax.set_axis_off()
        axes[0].xaxis.get_major_locator().set_params(integer=True)  # shared: whole study days
        fig.suptitle(f"Tumour volume by animal — {study.title}", x=0.01, ha="left", weight="bold")
        fig.supxlabel("Study day", fontsize=9.5)
        fig.supylabel("Change in tumour volume from day 0 (%)", fontsize=9.5)
        fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.09, hspace=0.3, wspace=0.08)
        return _png(fig)
