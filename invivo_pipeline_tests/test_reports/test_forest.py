"""The forest plot of growth-rate ratios and the growth-model section of the study page, from
hand-made ``rpt_growth_model`` rows (one failed study, one fitted) and from a real sync."""

from __future__ import annotations

import pandas as pd
import pytest

from invivo_pipeline.reports.data import StudyData, load_studies
from invivo_pipeline.reports.forest import forest_png, forest_rows
from invivo_pipeline.reports.html import ReportContext, growth_model_section
from invivo_pipeline.reports.plots import DPI, FIGSIZE
from invivo_pipeline.warehouse.duckdb_file import open_reader
from invivo_pipeline_tests.support.reports import by_kind, png_size

GROUPS = pd.DataFrame(
    {
        "group_id": ["c", "lo", "hi", "gone"],
        "group_name": ["G1 Vehicle", "G2 Drug 10 mg/kg", "G3 Drug <b>30</b> mg/kg", "G4 None"],
        "group_no": [1, 2, 3, 4],
        "is_control": [True, False, False, False],
    }
)


def model_rows(status: str = "ok") -> pd.DataFrame:
    ok = status == "ok"
    return pd.DataFrame(
        {
            "group_id": ["c", "lo", "hi", "gone"],
            "group_name": GROUPS["group_name"],
            "group_no": [1, 2, 3, 4],
            "is_control": [True, False, False, False],
            "n_animals": [8, 8, 8, 0],
            "n_observations": [80, 78, 80, 0],
            "growth_rate": [0.12, 0.06, -0.01, None] if ok else [None] * 4,
            "growth_rate_ratio": [None, 0.5, -0.08, None] if ok else [None] * 4,
            "growth_rate_ratio_ci_lo": [None, 0.3, -0.2, None] if ok else [None] * 4,
            "growth_rate_ratio_ci_hi": [None, 0.7, 0.04, None] if ok else [None] * 4,
            "p_value": [None, 0.001, 0.00001, None] if ok else [None] * 4,
            "p_adj": [None, 0.001, 0.00002, None] if ok else [None] * 4,
            "p_adj_method": ["holm"] * 4,
            "eval_day": [21.0] * 4,
            "pct_t_over_c_model": [None, 30.0, 8.0, None] if ok else [None] * 4,
            "tgi_model_pct": [None, 70.0, 92.0, None] if ok else [None] * 4,
            "tgi_model_ci_lo": [None, 55.0, 88.0, None] if ok else [None] * 4,
            "tgi_model_ci_hi": [None, 80.0, 95.0, None] if ok else [None] * 4,
            "status": ["ok", "ok", "ok", "not estimable"] if ok else [status] * 4,
            "status_detail": [None, None, None, "no tumour volumes"] if ok else ["x"] * 4,
        }
    )


def study(rows: pd.DataFrame) -> StudyData:
    overview = {"study_name": "Hand", "study_code": "ONC-1", "status": "completed"}
    return StudyData("s", overview, GROUPS, growth_model=rows)


def test_the_forest_plot_draws_the_treated_groups_with_a_ratio():
    fitted = study(model_rows())
    assert list(forest_rows(fitted)["group_id"]) == ["lo", "hi"]
    png = forest_png(fitted)
    assert png is not None
    assert png_size(png) == (round(FIGSIZE[0] * DPI), round(FIGSIZE[1] * DPI))


def test_no_forest_plot_without_a_fitted_model():
    assert forest_png(study(model_rows("failed"))) is None
    assert forest_png(study(pd.DataFrame())) is None


def test_the_section_shows_the_figure_and_the_table_with_names_escaped():
    fitted = study(model_rows())
    html = growth_model_section(ReportContext(fitted, {"growth_forest": forest_png(fitted)}))
    assert html is not None and "Growth model" in html
    assert "data:image/png;base64," in html
    assert "&lt;b&gt;30&lt;/b&gt;" in html and "<b>30</b>" not in html
    assert "model TGI on day 21" in html and "not estimable" in html
    failed = growth_model_section(ReportContext(study(model_rows("failed")), {}))
    assert failed is not None and "data:image/png" not in failed and "failed" in failed
    assert growth_model_section(ReportContext(study(pd.DataFrame()), {})) is None


@pytest.fixture(scope="module")
def kinds(materialized):
    with open_reader(materialized.db) as con:
        return by_kind(load_studies(con))


def test_a_synced_oncology_study_gets_a_forest_plot_and_tox_none(kinds):
    oncology = kinds["oncology"]
    assert set(oncology.growth_model["status"]) == {"ok"}
    assert forest_png(oncology) is not None
    assert forest_png(kinds["tox"]) is None
