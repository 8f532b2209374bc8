"""The waterfall and spider figures, from a warehouse built by a real sync: real PNGs on an
oncology study, none where a study has no tumours, and the waterfall's bars are the mart's
animals (one per animal with a best response up to the evaluation day)."""

from __future__ import annotations

import io

import matplotlib.image
import numpy as np
import pytest

from invivo_pipeline.reports.data import load_studies
from invivo_pipeline.reports.plots import DPI, FIGSIZE
from invivo_pipeline.reports.response_plots import (
    _broken_at_each_animal,
    spider_png,
    waterfall_png,
)
from invivo_pipeline.warehouse.duckdb_file import open_reader
from invivo_pipeline_tests.support.reports import by_kind, png_size


@pytest.fixture(scope="module")
def kinds(materialized):
    with open_reader(materialized.db) as con:
        return by_kind(load_studies(con))


@pytest.mark.parametrize("render", [waterfall_png, spider_png])
def test_an_oncology_study_gets_both_figures_as_real_pngs(kinds, render):
    png = render(kinds["oncology"])
    assert png is not None
    assert png_size(png) == (round(FIGSIZE[0] * DPI), round(FIGSIZE[1] * DPI))
    pixels = matplotlib.image.imread(io.BytesIO(png))
    assert len({tuple(p) for p in pixels[::7, ::7].reshape(-1, pixels.shape[-1])}) > 30


@pytest.mark.parametrize("render", [waterfall_png, spider_png])
def test_studies_without_tumours_get_no_figure(kinds, render):
    assert render(kinds["tox"]) is None
    assert render(kinds["draft"]) is None


def test_the_waterfall_has_one_bar_per_animal_with_a_response_up_to_the_evaluation_day(kinds):
    study = kinds["oncology"]
    rows = study.waterfall
    assert not rows.empty and rows["animal_id"].is_unique
    eval_day = int(study.tgi_at_eval_day["study_day"].iloc[0])
    assert set(rows["eval_day"]) == {eval_day}
    # Best response (mRECIST) is the lowest % change from day 10 (mrecist_min_day) up to the
    # evaluation day, read off the animal's own curve.
    first = 10 if eval_day >= 10 else 1
    curves = study.animal_curves
    window = curves[(curves["study_day"] >= first) & (curves["study_day"] <= eval_day)]
    expected = window.groupby("animal_id")["pct_dv"].min()
    got = rows.set_index("animal_id")["best_pct_change"]
    assert got.sort_index().round(9).to_dict() == expected.sort_index().round(9).to_dict()


def test_the_spider_draws_each_animal_as_its_own_stretch_of_one_line(kinds):
    """A group's animals are one line broken by a NaN between animals: no animal's last day is
    joined to the next animal's first, and every measured point is drawn."""
    curves = kinds["oncology"].animal_curves
    group = curves[curves["group_id"] == curves["group_id"].iloc[0]]
    shuffled = group.sample(frac=1.0, random_state=7)
    days, changes = _broken_at_each_animal(shuffled)
    gaps = np.flatnonzero(np.isnan(days))
    assert np.array_equal(gaps, np.flatnonzero(np.isnan(changes)))
    stretches = np.split(np.arange(len(days)), gaps)
    drawn = [(days[s[~np.isnan(days[s])]], changes[s[~np.isnan(days[s])]]) for s in stretches]
    expected = [
        (animal["study_day"].to_numpy(float), animal["pct_dv"].to_numpy(float))
        for _, animal in group.sort_values("study_day").groupby("animal_id", sort=True)
    ]
    assert len(drawn) == len(expected) == group["animal_id"].nunique() > 1
    for (got_days, got_changes), (want_days, want_changes) in zip(drawn, expected, strict=True):
        assert np.array_equal(got_days, want_days)
        assert np.array_equal(got_changes, want_changes)
