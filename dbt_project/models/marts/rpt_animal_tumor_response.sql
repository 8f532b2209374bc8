-- One row per animal with tumour measurements from day 0: growth rate and doubling time, area
-- under the curve, best response, and the response categories of docs/reporting-specification.md §1 (CRO-style PR/CR/TFS, maeve's
-- end-of-study CR, mRECIST), with the first day the tumour reached each fold of its baseline.
with points as (
    select
        f.animal_id,
        f.study_id,
        f.group_id,
        f.study_day,
        f.tumor_volume_mm3 as v,
        f.rtv,
        f.pct_dv,
        f.ln_v,
        log10(greatest(f.tumor_volume_mm3, {{ var('rate_tc_vol_floor') }})) as log10_v,
        a.v0
    from {{ ref('fct_animal_day') }} as f
    inner join {{ ref('dim_animal') }} as a on f.animal_id = a.animal_id
    where f.tumor_volume_mm3 is not null and f.study_day >= 0 and f.on_study
),

sequenced as (
    select
        *,
        lag(study_day) over by_day as previous_day,
        lag(v) over by_day as previous_v,
        -- Running mean of %ΔV from day 0 up to this day (mRECIST best average response).
        avg(pct_dv) over (
            by_day rows between unbounded preceding and current row
        ) as running_avg_pct_dv,
        row_number() over by_day as seq,
        last_value(v) over (
            by_day rows between unbounded preceding and unbounded following
        ) as v_last
    from points
    window by_day as (partition by animal_id order by study_day)
),

-- Consecutive runs ("islands") of responding measurements after day 0.
response_points as (
    select
        animal_id,
        v,
        v <= {{ var('pr_frac') }} * v0 as is_pr_point,
        v < {{ var('cr_mm3') }} as is_cr_point,
        seq - row_number() over (
            partition by animal_id, v <= {{ var('pr_frac') }} * v0 order by study_day
        ) as pr_island,
        seq - row_number() over (
            partition by animal_id, v < {{ var('cr_mm3') }} order by study_day
        ) as cr_island
    from sequenced
    where study_day > 0
),

pr_runs as (
    select animal_id
    from response_points
    where is_pr_point
    group by animal_id, pr_island
    having count(*) >= {{ var('consec_n') }} and max(v) >= {{ var('cr_mm3') }}
),

cr_runs as (
    select animal_id
    from response_points
    where is_cr_point
    group by animal_id, cr_island
    having count(*) >= {{ var('consec_n') }}
),

per_animal as (
    select
        animal_id,
        any_value(study_id) as study_id,
        any_value(group_id) as group_id,
        any_value(v0) as v0,
        count(*) as n_points,
        max(study_day) as last_day,
        max(v) as v_max,
        any_value(v_last) as v_last,
        100.0 * min(v) filter (where study_day > 0) / nullif(any_value(v0), 0) as min_pct_of_v0,
        regr_slope(ln_v, study_day) as growth_rate_ln,
        regr_slope(log10_v, study_day) as log10_slope,
        regr_r2(ln_v, study_day) as r2,
        sum(coalesce((study_day - previous_day) * (v + previous_v) / 2.0, 0)) as auc_0_last,
        min(pct_dv) filter (where study_day >= {{ var('mrecist_min_day') }}) as best_resp_pct,
        min(running_avg_pct_dv) filter (
            where study_day >= {{ var('mrecist_min_day') }}
        ) as best_avg_resp_pct,
        {%- for fold in var('fold_thresholds') %}
        min(study_day) filter (where rtv >= {{ fold }})
            as t_{{ fold | string | replace('.', '_') }}x,
        {%- endfor %}
        min(study_day) filter (where v >= {{ var('tumor_endpoint_mm3') }}) as tte_endpoint
    from sequenced
    group by animal_id
)

select
    p.animal_id,
    p.study_id,
    p.group_id,
    p.v0,
    p.n_points,
    p.last_day,
    p.v_max,
    p.v_last,
    p.min_pct_of_v0,
    p.growth_rate_ln,
    p.log10_slope,
    p.r2,
    case when p.growth_rate_ln > 0 then ln(2) / p.growth_rate_ln end as doubling_time_d,
    p.auc_0_last,
    p.best_resp_pct,
    p.best_avg_resp_pct,
    case
        when p.best_resp_pct is null then null
        when p.best_resp_pct < -95 and p.best_avg_resp_pct < -40 then 'CR'
        when p.best_resp_pct < -50 and p.best_avg_resp_pct < -20 then 'PR'
        when p.best_resp_pct < 35 and p.best_avg_resp_pct < 30 then 'SD'
        else 'PD'
    end as mrecist,
    p.animal_id in (select animal_id from pr_runs) as pr_flag,
    p.animal_id in (select animal_id from cr_runs) as cr_flag,
    p.v_last <= {{ var('eos_cr_mm3') }} as eos_cr_flag,
    p.animal_id in (select animal_id from cr_runs) and p.v_last < {{ var('cr_mm3') }} as tfs_flag,
    {%- for fold in var('fold_thresholds') %}
    p.t_{{ fold | string | replace('.', '_') }}x,
    {%- endfor %}
    p.tte_endpoint
from per_animal as p
