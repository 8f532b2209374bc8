"""The marts, per study, as the reports read them from a warehouse built by a real sync."""

from __future__ import annotations

import pytest

from invivo_pipeline.reports.data import load_studies, load_study, study_ids
from invivo_pipeline.warehouse.duckdb_file import open_reader
from invivo_pipeline_tests.support.reports import by_kind


@pytest.fixture(scope="module")
def studies(materialized):
    with open_reader(materialized.db) as con:
        return load_studies(con)


def test_every_study_of_the_warehouse_is_read_once_in_code_order(materialized, studies):
    with open_reader(materialized.db) as con:
        listed = {r[0] for r in con.execute("select id from invivo_raw.studies").fetchall()}
        assert study_ids(con) == [s.study_id for s in studies]
    assert {s.study_id for s in studies} == listed
    codes = [s.code for s in studies]
    assert codes == sorted(codes)


def test_what_each_kind_of_study_has_to_show(studies):
    kinds = by_kind(studies)
    oncology, tox, draft = kinds["oncology"], kinds["tox"], kinds["draft"]
    assert not oncology.growth.empty and not oncology.km.empty and not oncology.body_weight.empty
    assert tox.growth.empty and tox.tgi.empty, "a tox study has no tumours"
    assert not tox.body_weight.empty
    assert draft.growth.empty and draft.body_weight.empty and draft.km.empty
    # Curves only carry the days dbt allows to be plotted.
    assert (oncology.growth["n_measured"] >= 3).all()


def test_groups_are_in_study_order_with_exactly_one_control(studies):
    for study in studies:
        assert list(study.groups["group_no"]) == sorted(study.groups["group_no"])
        assert study.groups["is_control"].sum() == 1, study.code


def test_tgi_on_the_evaluation_day_is_one_row_per_treated_group(studies):
    oncology = by_kind(studies)["oncology"]
    rows = oncology.tgi_at_eval_day
    treated = oncology.groups[~oncology.groups["is_control"]]
    assert list(rows["group_id"]) == list(treated["group_id"])
    assert rows["study_day"].nunique() == 1
    # The simulated drug works by dose: inhibition grows from the lowest to the highest dose.
    assert rows["tgi_delta_pct"].iloc[-1] > rows["tgi_delta_pct"].iloc[0]


def test_an_unknown_study_is_a_clear_error(materialized):
    with open_reader(materialized.db) as con, pytest.raises(KeyError, match="sdy_nope"):
        load_study(con, "sdy_nope")
