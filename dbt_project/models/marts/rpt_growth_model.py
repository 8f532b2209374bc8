"""Each study's mixed-effects model of log tumour volume and each group against control
(invivo_pipeline.statistics.growth_model): growth rates, slope differences and growth-rate ratios
with intervals and Holm-adjusted p-values, model-based %T/C and TGI on the evaluation day."""

import pandas as pd

from invivo_pipeline.marts.scope import STUDIES_PER_BATCH, in_study_batches, scoped
from invivo_pipeline.statistics.growth_model import (
    EVAL_DAYS_QUERY,
    OBSERVATIONS_QUERY,
    growth_model_frame,
)


def model(dbt, session):
    # dbt makes a Python model a table unless the model itself says otherwise.
    dbt.config(materialized="study_partitioned")
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
    # dbt finds a model's refs by reading its code, and not inside a comprehension.
    volumes = dbt.ref("fct_animal_day")
    eval_days = {k: float(v) for k, v in eval_rows.items()}
    z = float(dbt.config.get("km_ci_z") or 1.96)
    shift = float(dbt.config.get("geo_mean_shift_mm3") or 1.0)
    per_batch = int(dbt.config.get("studies_per_batch") or STUDIES_PER_BATCH)
    # Each study is fitted on its own: a few studies' volumes in memory at a time, not the tenant's.
    return pd.concat(
        [
            growth_model_frame(
                days.query("fct_animal_day", OBSERVATIONS_QUERY).df(),
                groups,
                controls,
                eval_days,
                z,
                shift,
            )
            for _batch, days in in_study_batches(volumes, session, size=per_batch)
        ],
        ignore_index=True,
    )
