-- Tumour growth inhibition of each treated group against its study's control group (the one with
-- is_control), day by day, in every form of docs/reporting-specification.md §1: ratio (%T/C), delta (ΔT/ΔC), relative tumour volume
-- and area under the mean curve. Means are arithmetic unless the column says median or geo.
-- The *_locf columns are the same forms on last-observation-carried-forward means (see
-- rpt_group_day_summary): an explicitly labelled alternative that keeps the animals that left.
with curves as (
    select * from {{ ref('rpt_group_day_summary') }}
    where metric in ('tumor_volume_mm3', 'rtv') and study_day >= 0
),

volume as (
    select * from curves where metric = 'tumor_volume_mm3'
),

rtv as (
    select * from curves where metric = 'rtv'
),

groups as (
    select * from {{ ref('stg_invivo__study_groups') }}
),

controls as (
    select study_id, control_group_id
    from {{ ref('int_study_control') }}
),

baselines as (
    select group_id, avg(v0) as mean_v0
    from {{ ref('dim_animal') }}
    where v0 is not null
    group by group_id
),

-- Area under each group's mean volume curve from day 0 to each day (trapezoid rule).
auc as (
    select
        group_id,
        study_day,
        sum(coalesce((study_day - previous_day) * (mean + previous_mean) / 2.0, 0)) over (
            partition by group_id order by study_day
            rows between unbounded preceding and current row
        ) as auc
    from (
        select
            group_id,
            study_day,
            mean,
            lag(study_day) over (partition by group_id order by study_day) as previous_day,
            lag(mean) over (partition by group_id order by study_day) as previous_mean
        from volume
    )
),

-- Evaluation day: the last day the groups are still complete enough (int_study_eval_day).
eval_days as (
    select study_id, eval_day, eval_day_rule from {{ ref('int_study_eval_day') }}
),

paired as (
    select
        g.study_id,
        t.group_id,
        g.group_name,
        c.control_group_id,
        t.study_day,
        t.n_measured as n_t,
        cv.n_measured as n_c,
        t.mean as mean_t,
        bt.mean_v0 as mean_t0,
        cv.mean as mean_c,
        bc.mean_v0 as mean_c0,
        t.median as median_t,
        cv.median as median_c,
        t.geo_mean as geo_mean_t,
        cv.geo_mean as geo_mean_c,
        rt.mean as mean_rtv_t,
        rc.mean as mean_rtv_c,
        aat.auc as auc_t,
        aac.auc as auc_c,
        t.plot_ok and cv.plot_ok as plot_ok,
        t.study_day = e.eval_day as is_eval_day,
        e.eval_day_rule,
        t.frac_remaining as retention_t,
        cv.frac_remaining as retention_c,
        t.low_retention_flag or cv.low_retention_flag as low_retention_flag,
        t.mean_locf as mean_t_locf,
        cv.mean_locf as mean_c_locf
    from volume as t
    inner join groups as g on t.group_id = g.group_id and not g.is_control
    inner join controls as c on g.study_id = c.study_id
    inner join volume as cv on c.control_group_id = cv.group_id and t.study_day = cv.study_day
    left join baselines as bt on t.group_id = bt.group_id
    left join baselines as bc on c.control_group_id = bc.group_id
    left join rtv as rt on t.group_id = rt.group_id and t.study_day = rt.study_day
    left join rtv as rc on c.control_group_id = rc.group_id and t.study_day = rc.study_day
    left join auc as aat on t.group_id = aat.group_id and t.study_day = aat.study_day
    left join auc as aac on c.control_group_id = aac.group_id and t.study_day = aac.study_day
    left join eval_days as e on g.study_id = e.study_id
),

-- A change in a group's mean volume from its baseline mean within tgi_zero_change_tol_mm3 is no
-- change: on day 0, and wherever the control has not grown, ΔT/ΔC would divide by float rounding
-- (~1e-14) and print any number, so it, TGI Δ and regression % are NULL there.
changes as (
    select
        *,
        case
            when abs(mean_c - mean_c0) > {{ var('tgi_zero_change_tol_mm3') }} then mean_c - mean_c0
        end as delta_c,
        mean_t - mean_t0 as delta_t,
        case
            when abs(mean_c_locf - mean_c0) > {{ var('tgi_zero_change_tol_mm3') }}
                then mean_c_locf - mean_c0
        end as delta_c_locf
    from paired
),

metrics as (
    select
        *,
        100.0 * mean_t / nullif(mean_c, 0) as pct_t_over_c,
        100.0 * median_t / nullif(median_c, 0) as pct_t_over_c_median,
        100.0 * geo_mean_t / nullif(geo_mean_c, 0) as pct_t_over_c_geo,
        100.0 * delta_t / delta_c as pct_dt_over_dc,
        100.0 * (1 - mean_rtv_t / nullif(mean_rtv_c, 0)) as tgi_rtv_pct,
        100.0 * (1 - auc_t / nullif(auc_c, 0)) as tgi_auc_pct,
        100.0 * mean_t_locf / nullif(mean_c_locf, 0) as pct_t_over_c_locf,
        100.0 * (mean_t_locf - mean_t0) / delta_c_locf as pct_dt_over_dc_locf
    from changes
)

select
    study_id,
    group_id,
    group_name,
    control_group_id,
    study_day,
    n_t,
    n_c,
    mean_t,
    mean_t0,
    mean_c,
    mean_c0,
    median_t,
    median_c,
    geo_mean_t,
    geo_mean_c,
    mean_rtv_t,
    mean_rtv_c,
    auc_t,
    auc_c,
    pct_t_over_c,
    pct_t_over_c_median,
    pct_t_over_c_geo,
    pct_dt_over_dc,
    100.0 - pct_dt_over_dc as tgi_delta_pct,
    100.0 - pct_t_over_c as tgi_ratio_pct,
    tgi_rtv_pct,
    tgi_auc_pct,
    case
        when delta_c is not null and delta_t < -{{ var('tgi_zero_change_tol_mm3') }}
            then 100.0 * delta_t / nullif(mean_t0, 0)
    end as regression_pct,
    case
        when pct_t_over_c <= {{ var('nci_highly_active_tc_pct') }} then 'highly active'
        when pct_t_over_c <= {{ var('nci_active_tc_pct') }} then 'active'
        when pct_t_over_c is not null then 'inactive'
    end as nci_activity_class,
    plot_ok,
    coalesce(is_eval_day, false) as is_eval_day,
    eval_day_rule,
    retention_t,
    retention_c,
    low_retention_flag,
    mean_t_locf,
    mean_c_locf,
    pct_t_over_c_locf,
    100.0 - pct_dt_over_dc_locf as tgi_delta_pct_locf
from metrics
