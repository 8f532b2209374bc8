"""The figures, rendered from a warehouse built by a real sync: real PNGs of the intended size,
skipped where a study has no such data, and one style per group across a study's figures."""

from __future__ import annotations

import io

import matplotlib.image
import pytest

from invivo_pipeline.reports.data import load_studies
from invivo_pipeline.reports.drawing import draw
from invivo_pipeline.reports.plots import (
    DPI,
    FIGSIZE,
    BodyWeightLimits,
    body_weight_png,
    survival_png,
    tumour_growth_png,
)
from invivo_pipeline.reports.style import CONTROL_COLOUR, group_styles
from invivo_pipeline.warehouse.duckdb_file import open_reader
from invivo_pipeline_tests.support.reports import by_kind, png_size


@pytest.fixture(scope="module")
def kinds(materialized):
    with open_reader(materialized.db) as con:
        return by_kind(load_studies(con))


@pytest.mark.parametrize("render", [tumour_growth_png, survival_png, body_weight_png])
def test_an_oncology_study_gets_every_figure_as_a_real_png(kinds, render):
    png = render(kinds["oncology"])
    assert png is not None
    assert png_size(png) == (round(FIGSIZE[0] * DPI), round(FIGSIZE[1] * DPI))
    assert len(png) > 20_000, "a figure with curves, not an empty frame"
    pixels = matplotlib.image.imread(io.BytesIO(png))
    # Mostly white paper with coloured curves: many distinct colours, not a blank image.
    assert len({tuple(p) for p in pixels[::7, ::7].reshape(-1, pixels.shape[-1])}) > 30


def test_studies_without_the_data_skip_the_figure(kinds):
    assert tumour_growth_png(kinds["tox"]) is None
    assert body_weight_png(kinds["tox"]) is not None
    assert draw(kinds["draft"]) == (
        {
            "tumour_growth": None,
            "survival": None,
            "body_weight": None,
            "growth_forest": None,
            "waterfall": None,
            "spider": None,
        },
        {},
    )


def test_the_body_weight_limits_change_the_figure(kinds):
    default = body_weight_png(kinds["tox"])
    stricter = body_weight_png(kinds["tox"], BodyWeightLimits(alert_pct=10, endpoint_pct=15))
    assert default != stricter


def test_a_group_keeps_its_style_and_the_control_stands_out(kinds):
    groups = kinds["oncology"].groups
    styles = group_styles(groups)
    assert list(styles) == list(groups["group_id"])
    control = [s for s in styles.values() if s.is_control]
    treated = [s for s in styles.values() if not s.is_control]
    assert len(control) == 1 and control[0].colour == CONTROL_COLOUR
    assert control[0].linestyle == "--" and "(control)" in control[0].label
    assert len({s.colour for s in treated}) == len(treated)
    assert CONTROL_COLOUR not in {s.colour for s in treated}
    # The same frame gives the same styles: every figure of the study uses this mapping.
    assert group_styles(groups) == styles
