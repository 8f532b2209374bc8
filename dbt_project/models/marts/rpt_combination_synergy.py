"""Bliss and HSA synergy of every combination study's A + B group, with intervals, from the
study's mixed-effects growth model (invivo_pipeline.statistics.synergy)."""

import pandas as pd

from invivo_pipeline.marts.scope import STUDIES_PER_BATCH, in_study_batches, scoped
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
    eval_rows = (
        scoped(dbt.ref("rpt_tgi_by_day"), session)
        .query("tgi", EVAL_DAYS_QUERY)
        .df()
        .set_index("study_id")["eval_day"]
    )
    volumes = dbt.ref("fct_animal_day")
    eval_days = {k: float(v) for k, v in eval_rows.items()}
    z = float(dbt.config.get("km_ci_z") or 1.96)
    shift = float(dbt.config.get("geo_mean_shift_mm3") or 1.0)
    per_batch = int(dbt.config.get("studies_per_batch") or STUDIES_PER_BATCH)
    frames = []
    # Only the candidates' volumes are read, a few studies at a time.
    for batch, days in in_study_batches(volumes, session, candidates, per_batch):
        observations = days.query("fct_animal_day", OBSERVATIONS_QUERY).df()
        frames.append(
            combination_synergy_frame(
                observations,
                links[links["study_id"].isin(batch)],
                groups,
                controls,
                eval_days,
                z,
                shift,
            )
        )
    return pd.concat(frames, ignore_index=True)
