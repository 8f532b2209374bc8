"""``invivo sync`` with both sources configured (the session's ``materialized`` sync): the
Cytobank run, then dbt over both, and flow marts with real links between FCS files and In Vivo
samples (and the report tables built on them)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from invivo_pipeline.reports.flow_tables import MATCHED_FILES, POPULATION_BY_GROUP, flow_tables
from invivo_pipeline_tests.support.materialized import Materialized


@pytest.fixture(scope="module")
def synced(materialized: Materialized) -> tuple[str, Path, dict[str, int]]:
    """The session's one real sync, which loaded both sources."""
    return materialized.stdout, materialized.db, materialized.cytobank_counts


def test_both_sources_load_and_every_dbt_test_passes(synced) -> None:
    stdout, db, counts = synced
    assert re.search(r"dbt: \d+ models, \d+ tests passed", stdout), stdout
    with duckdb.connect(str(db), read_only=True) as con:
        for table, expected in counts.items():
            assert con.execute(f"select count(*) from cytobank_raw.{table}").fetchone() == (
                expected,
            )


def test_files_link_to_samples_by_tag_or_filename_and_the_rest_are_listed(synced) -> None:
    _, db, counts = synced
    with duckdb.connect(str(db), read_only=True) as con:
        methods = dict(
            con.execute(
                "select link_method, count(*) from marts.fct_flow_sample group by 1"
            ).fetchall()
        )
        assert sum(methods.values()) == counts["fcs_files"]
        assert methods["sample_tag"] > 0 and methods["filename"] > 0
        # Per study experiment: a stray animal name and two compensation controls; QC: two beads.
        experiments = counts["experiments"]
        assert methods["unmatched"] == 3 * (experiments - 1) + 2
        # A real link: the file's tags name the animal and type of the sample it is linked to.
        wrong = con.execute(
            """
            select count(*) from marts.fct_flow_sample f
            join staging.stg_cytobank_fcs_files t using (fcs_file_id)
            where f.link_method <> 'unmatched'
              and (t.tag_individual <> f.animal_name or t.tag_sample_type <> f.sample_type
                   or t.tag_timepoint <> 'Day ' || f.study_day)
            """
        ).fetchone()
        assert wrong == (0,)


def test_report_tables_show_matched_files_and_a_group_effect(synced) -> None:
    _, db, _ = synced
    with duckdb.connect(str(db), read_only=True) as con:
        study_id = con.execute(
            "select study_id from marts.fct_flow_sample where study_id is not null "
            "group by 1 order by count(*) desc limit 1"
        ).fetchone()[0]
        tables = flow_tables(con, study_id)
        matched, by_group = tables[MATCHED_FILES], tables[POPULATION_BY_GROUP]
        assert len(matched) > 0 and set(matched["link_method"]) <= {"sample_tag", "filename"}
        assert matched["animal"].notna().all() and matched["group"].notna().all()
        control = con.execute(
            "select group_name from marts.dim_animal where study_id = ? and is_control limit 1",
            [study_id],
        ).fetchone()[0]
        blood = by_group[by_group["sample_type"] == "Blood"]
        # The day the control group was sampled (terminal bleeds), with the treated groups.
        day = blood[blood["group"] == control].sort_values("n_files")["day"].iloc[-1]
        means = blood[blood["day"] == day].set_index("group")["mean_pct_of_parent"]
        assert len(means) > 1
        # CD8+ share of T cells rises with dose in the simulated biology.
        assert means.drop(control).max() > means[control] + 5
