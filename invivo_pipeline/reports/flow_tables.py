"""The flow-cytometry tables of a study's report, read from the dbt marts.

Pure: a DuckDB connection in, pandas DataFrames out (the HTML report lays them out). Built on
``marts.fct_flow_sample`` and ``marts.rpt_flow_population_stats``, so the report shows exactly what
an analyst querying the marts sees.
"""

from __future__ import annotations

import duckdb
import pandas as pd

MATCHED_FILES = "matched files"
POPULATION_BY_GROUP = "population by group"
DEFAULT_POPULATION = "CD8+ T cells"

FLOW_MARTS_READ = ("fct_flow_sample", "rpt_flow_population_stats")
"""The marts ``flow_tables`` reads (built by dbt; empty when the Cytobank source is off)."""


def flow_tables(
    con: duckdb.DuckDBPyConnection, study_id: str, population: str = DEFAULT_POPULATION
) -> dict[str, pd.DataFrame]:
    """``matched files`` (file, sample, animal, group, day, link method) and ``population by
    group`` (mean % of parent of ``population`` per group, sample type and day) for one study."""
    matched = con.execute(
        """
        select filename as fcs_file, sample_label as sample, animal_name as animal,
               group_name as "group", study_day as day, sample_type, link_method
        from marts.fct_flow_sample
        where study_id = ?
        order by study_day, group_name, animal_name, filename
        """,
        [study_id],
    ).df()
    by_group = con.execute(
        """
        select group_name as "group", sample_type, study_day as day, population_name as population,
               count(*) as n_files,
               round(avg(pct_of_parent), 2) as mean_pct_of_parent,
               round(stddev_samp(pct_of_parent), 2) as sd_pct_of_parent
        from marts.rpt_flow_population_stats
        where study_id = ? and population_name = ?
        group by all
        order by sample_type, day, "group"
        """,
        [study_id, population],
    ).df()
    return {MATCHED_FILES: matched, POPULATION_BY_GROUP: by_group}
