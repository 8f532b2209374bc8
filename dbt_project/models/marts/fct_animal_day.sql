-- One row per animal and study day with a measurement: tumour volume (stored and recomputed from
-- the calipers), its change from baseline, and body weight with its change from baseline.
with daily as (
    select * from {{ ref('int_animal_daily_measures') }}
),

animals as (
    select * from {{ ref('dim_animal') }}
),

days as (
    select
        d.animal_id,
        a.study_id,
        a.group_id,
        d.measured_on,
        d.measured_on - a.day0_date as study_day,
        d.length_mm,
        d.width_mm,
        d.tumor_volume_mm3,
        d.tumor_volume_formula,
        d.tumour_measurement_id,
        d.weight_measurement_id,
        {{ tumour_volume_formula('d.length_mm', 'd.width_mm') }} as tumor_volume_recalc_mm3,
        d.tumor_volume_mm3 / nullif(a.v0, 0) as rtv,
        d.body_weight_g,
        100.0 * (d.body_weight_g - a.w0) / nullif(a.w0, 0) as bw_pct_chg,
        {{ on_study('a', 'd.measured_on') }} as on_study,
        d.n_tumour_records,
        d.n_weight_records
    from daily as d
    inner join animals as a on d.animal_id = a.animal_id
)

select
    animal_id,
    study_id,
    group_id,
    measured_on,
    study_day,
    -- SEND --DY: no day 0; the anchor day is day 1 and the day before it day -1.
    case when study_day >= 0 then study_day + 1 else study_day end as study_day_send,
    length_mm,
    width_mm,
    tumor_volume_mm3,
    tumor_volume_recalc_mm3,
    tumor_volume_formula,
    '{{ var("vol_formula") }}' as recalc_formula,
    100.0 * (tumor_volume_recalc_mm3 - tumor_volume_mm3)
        / nullif(tumor_volume_mm3, 0) as vol_recalc_dev_pct,
    rtv,
    100.0 * (rtv - 1) as pct_dv,
    -- NULL without a volume (greatest() skips a NULL argument, which made it ln(vol_floor)).
    case
        when tumor_volume_mm3 is not null then ln(greatest(tumor_volume_mm3, {{ var('vol_floor') }}))
    end as ln_v,
    body_weight_g,
    bw_pct_chg,
    min(bw_pct_chg) over (
        partition by animal_id order by measured_on rows between unbounded preceding and current row
    ) as bw_nadir_to_date,
    100.0 * (body_weight_g - lag(body_weight_g ignore nulls) over by_day)
        / nullif(lag(body_weight_g ignore nulls) over by_day, 0) as bw_day_over_day_pct,
    coalesce(bw_pct_chg <= -{{ var('bw_alert_pct') }}, false) as bw_alert_flag,
    coalesce(bw_pct_chg <= -{{ var('bw_endpoint_pct') }}, false) as bw_endpoint_flag,
    coalesce(
        abs(100.0 * (body_weight_g - lag(body_weight_g ignore nulls) over by_day)
            / nullif(lag(body_weight_g ignore nulls) over by_day, 0)) > {{ var('bw_jump_pct') }},
        false
    ) as bw_jump_flag,
    coalesce(tumor_volume_mm3 >= {{ var('tumor_endpoint_mm3') }}, false) as tumor_endpoint_flag,
    on_study,
    n_tumour_records,
    n_weight_records,
    tumour_measurement_id,
    weight_measurement_id
from days
window by_day as (partition by animal_id order by measured_on)
