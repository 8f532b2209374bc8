"""One look for every plot: a group keeps its colour, line and marker across a study's figures.

The control group is always dark grey, dashed, with open squares, so it reads as the reference at a
glance (and in greyscale print); treated groups take the Okabe–Ito colour-blind-safe palette in
the study's group order.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

CONTROL_COLOUR = "#3d3d3d"
TREATED_COLOURS = (
    "#E69F00",  # orange
    "#0072B2",  # blue
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#8C6D31",  # brown (Okabe–Ito's yellow is unreadable on white)
)
TREATED_MARKERS = ("o", "^", "D", "v", "P", "X", "*")


@dataclass(frozen=True)
class GroupStyle:
    label: str
    colour: str
    marker: str
    linestyle: str
    is_control: bool

    def line_kwargs(self) -> dict[str, object]:
        return {
            "color": self.colour,
            "linestyle": self.linestyle,
            "marker": self.marker,
            "markerfacecolor": "white" if self.is_control else self.colour,
            "markeredgecolor": self.colour,
            "label": self.label,
        }


def group_styles(groups: pd.DataFrame) -> dict[str, GroupStyle]:
    """group_id → style, from a frame of group_id, group_name, is_control in group order."""
    styles: dict[str, GroupStyle] = {}
    treated = 0
    for row in groups.itertuples(index=False):
        if bool(row.is_control):
            styles[row.group_id] = GroupStyle(
                f"{row.group_name} (control)", CONTROL_COLOUR, "s", "--", True
            )
        else:
            styles[row.group_id] = GroupStyle(
                str(row.group_name),
                TREATED_COLOURS[treated % len(TREATED_COLOURS)],
                TREATED_MARKERS[treated % len(TREATED_MARKERS)],
                "-",
                False,
            )
            treated += 1
    return styles
