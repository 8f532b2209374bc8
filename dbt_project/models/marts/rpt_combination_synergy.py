"""Bliss and HSA synergy of every combination study's A + B group, with intervals, from the
study's mixed-effects growth model (invivo_pipeline.statistics.synergy)."""

from invivo_pipeline.marts.scope import scoped
from invivo_pipeline.statistics.growth_model import EVAL_DAYS_QUERY, OBSERVATIONS_QUERY
from invivo_pipeline.statistics.synergy import combination_synergy_frame


def model(dbt, session):
    # dbt makes a Python model a table unless the model itself says otherwise.
    dbt.config(materialized="study_partitioned")
    links = scoped(dbt.ref("stg_invivo__study_group_treatments"), session).df()[
        ["study_id", "group_id", "treatment_id"]
    ]
    groups = scoped(dbt.ref("stg_invivo__study_groups"), session).df()[
        ["study_id", "group_id", "group_no"]
    ]
    control = scoped(dbt.ref("int_study_control"), session).df()
    controls = dict(zip(control["study_id"], control["control_group_id"], strict=True))
    # Only studies with a group of two or more treatments can hold a combination.
    candidates = set(links.groupby("group_id").filter(lambda g: len(g) >= 2)["study_id"])
    days = scoped(dbt.ref("fct_animal_day"), session)
    observations = days.query("fct_animal_day", OBSERVATIONS_QUERY).df()
    observations = observations[observations["study_id"].isin(candidates)]
    eval_rows = (
        scoped(dbt.ref("rpt_tgi_by_day"), session)
        .query("tgi", EVAL_DAYS_QUERY)
        .df()
        .set_index("study_id")["eval_day"]
    )
    return combination_synergy_frame(
        observations,
        links[links["study_id"].isin(candidates)],
        groups,
        controls,
        {k: float(v) for k, v in eval_rows.items()},
        float(dbt.config.get("km_ci_z") or 1.96),
        float(dbt.config.get("geo_mean_shift_mm3") or 1.0),
    )
