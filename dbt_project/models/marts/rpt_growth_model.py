"""Each study's mixed-effects model of log tumour volume and each group against control
(invivo_pipeline.statistics.growth_model): growth rates, slope differences and growth-rate ratios
with intervals and Holm-adjusted p-values, model-based %T/C and TGI on the evaluation day."""

from invivo_pipeline.marts.scope import scoped
from invivo_pipeline.statistics.growth_model import (
    EVAL_DAYS_QUERY,
    OBSERVATIONS_QUERY,
    growth_model_frame,
)


def model(dbt, session):
    # dbt makes a Python model a table unless the model itself says otherwise.
    dbt.config(materialized="study_partitioned")
    days = scoped(dbt.ref("fct_animal_day"), session)
    observations = days.query("fct_animal_day", OBSERVATIONS_QUERY).df()
    groups = scoped(dbt.ref("stg_invivo__study_groups"), session).df()[
        ["study_id", "group_id", "group_no"]
    ]
    control = scoped(dbt.ref("int_study_control"), session).df()
    controls = dict(zip(control["study_id"], control["control_group_id"], strict=True))
    eval_rows = (
        scoped(dbt.ref("rpt_tgi_by_day"), session)
        .query("tgi", EVAL_DAYS_QUERY)
        .df()
        .set_index("study_id")["eval_day"]
    )
    return growth_model_frame(
        observations,
        groups,
        controls,
        {k: float(v) for k, v in eval_rows.items()},
        float(dbt.config.get("km_ci_z") or 1.96),
        float(dbt.config.get("geo_mean_shift_mm3") or 1.0),
    )
