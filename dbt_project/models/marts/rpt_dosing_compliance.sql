-- One row per planned or recorded dose event (animal × treatment × day × dose of the day). The plan
-- expands each group's schedule (int_group_dosing_plan) from the study's first dosing day to the
-- animal's last day on study; records are matched on the same day, then, for leftovers, within
-- ± dose_window_days. The dose arithmetic of docs/reporting-specification.md §2 is checked on every record:
--   expected volume = W·DV, realized dose = c·V/W, c·DV ≈ d, weight at dosing ≈ nearest weighing.
-- status: given, missed, held (volume 0, or no record while BW loss >= dose_holiday_bw_pct),
-- extra (no plan, or given after the treatment window), off_schedule (matched through the window),
-- wrong_dose (realized dose off by more than dose_tol_pct), terminated (planned for the day the
-- animal left, not given), off_treatment (a day of the schedule after the group's treatment
-- window, int_group_dosing_plan: follow-up, not a missed dose), holiday (a protocol dosing holiday
-- of the var dosing_holidays, keyed by group id or study id). Neither of the last two counts
-- against compliance.
with animals as (
    select a.*, s.timezone, s.first_dosed_on as study_first_dosed_on
    from {{ ref('dim_animal') }} as a
    inner join {{ ref('int_study_dates') }} as s on a.study_id = s.study_id
),

plan as (
    select * from {{ ref('int_group_dosing_plan') }}
),

planned_days as (
    select
        a.animal_id,
        p.treatment_id,
        p.per_day,
        cast(unnest(generate_series(
            a.study_first_dosed_on, a.last_on_study_date, to_days(cast(p.every_days as integer))
        )) as date) as dose_date
    from animals as a
    inner join plan as p on a.group_id = p.group_id
    where a.study_first_dosed_on is not null and a.last_on_study_date >= a.study_first_dosed_on
),

planned as (
    select
        animal_id,
        treatment_id,
        dose_date,
        cast(unnest(range(1, per_day + 1)) as integer) as dose_seq
    from planned_days
),

records as (
    select
        d.*,
        {{ local_date('d.dosed_at', 'a.timezone') }} as dose_date,
        cast(row_number() over (
            partition by d.animal_id, d.treatment_id, {{ local_date('d.dosed_at', 'a.timezone') }}
            order by d.dosed_at, d.dosage_id
        ) as integer) as dose_seq
    from {{ ref('stg_invivo__dosages') }} as d
    inner join animals as a on d.animal_id = a.animal_id
),

same_day as (
    select
        coalesce(p.animal_id, r.animal_id) as animal_id,
        coalesce(p.treatment_id, r.treatment_id) as treatment_id,
        p.dose_date as planned_date,
        p.dose_seq as planned_seq,
        r.dosage_id,
        r.dose_date as recorded_date
    from planned as p
    full outer join records as r
        on p.animal_id = r.animal_id
        and p.treatment_id = r.treatment_id
        and p.dose_date = r.dose_date
        and p.dose_seq = r.dose_seq
),

-- Leftover records and plans within the window: each record takes its nearest free plan and
-- vice versa (pairs where both agree).
window_candidates as (
    select
        r.animal_id,
        r.treatment_id,
        r.dosage_id,
        r.recorded_date,
        p.planned_date,
        p.planned_seq,
        row_number() over (
            partition by r.dosage_id
            order by abs(p.planned_date - r.recorded_date), p.planned_date, p.planned_seq
        ) as record_rank,
        row_number() over (
            partition by p.animal_id, p.treatment_id, p.planned_date, p.planned_seq
            order by abs(p.planned_date - r.recorded_date), r.recorded_date, r.dosage_id
        ) as plan_rank
    from same_day as r
    inner join same_day as p
        on r.animal_id = p.animal_id
        and r.treatment_id = p.treatment_id
        and abs(p.planned_date - r.recorded_date) <= {{ var('dose_window_days') }}
    where r.planned_date is null and p.dosage_id is null
),

window_pairs as (
    select * from window_candidates where record_rank = 1 and plan_rank = 1
),

events as (
    select animal_id, treatment_id, planned_date, planned_seq, dosage_id, false as via_window
    from same_day
    where planned_date is not null and dosage_id is not null

    union all

    select animal_id, treatment_id, planned_date, planned_seq, dosage_id, true
    from window_pairs

    union all

    select s.animal_id, s.treatment_id, s.planned_date, s.planned_seq, null, false
    from same_day as s
    where s.dosage_id is null
        and not exists (
            select 1 from window_pairs as w
            where w.animal_id = s.animal_id and w.treatment_id = s.treatment_id
                and w.planned_date = s.planned_date and w.planned_seq = s.planned_seq
        )

    union all

    select s.animal_id, s.treatment_id, null, null, s.dosage_id, false
    from same_day as s
    where s.planned_date is null
        and s.dosage_id not in (select dosage_id from window_pairs)
),

holidays as (
    select distinct entity_id, study_day
    from {{ map_var_lists('dosing_holidays', 'entity_id', 'study_day') }}
),

weights as (
    select animal_id, measured_on, body_weight_g
    from {{ ref('int_animal_daily_measures') }}
    where body_weight_g is not null
),

detailed as (
    select
        a.study_id,
        a.group_id,
        e.animal_id,
        e.treatment_id,
        p.treatment_name,
        coalesce(r.dose_date, e.planned_date) as dose_date,
        coalesce(r.dose_date, e.planned_date) - a.day0_date as study_day,
        coalesce(e.planned_seq, r.dose_seq) as dose_seq,
        e.planned_date,
        e.planned_date is not null as is_planned,
        p.frequency,
        r.dosage_id,
        r.dosed_at,
        e.via_window,
        p.planned_dose_mg_kg as planned_d,
        r.dose_value as d_recorded,
        coalesce(r.dose_volume_value, p.planned_dose_volume_ml_kg) as dv,
        r.stock_value as stock_c,
        r.volume_value * case lower(r.volume_unit) when 'ml' then 1000 else 1 end as volume_ul,
        r.weight_at_dosing as weight_at_dosing_g,
        p.route,
        p.route_max_ml_per_kg,
        a.terminated_at,
        day_bw.bw_pct_chg as bw_pct_chg_on_day,
        p.treatment_end_source,
        case
            when p.treatment_end_day is not null
                then coalesce(r.dose_date, e.planned_date) - a.day0_date <= p.treatment_end_day
            when p.last_recorded_dose_date is not null
                then coalesce(r.dose_date, e.planned_date) <= p.last_recorded_dose_date
            else true
        end as in_treatment_window,
        hg.study_day is not null or hs.study_day is not null as is_holiday
    from events as e
    inner join animals as a on e.animal_id = a.animal_id
    left join records as r on e.dosage_id = r.dosage_id
    left join plan as p on a.group_id = p.group_id and e.treatment_id = p.treatment_id
    left join {{ ref('fct_animal_day') }} as day_bw
        on e.animal_id = day_bw.animal_id and e.planned_date = day_bw.measured_on
    left join holidays as hg
        on a.group_id = hg.entity_id
        and coalesce(r.dose_date, e.planned_date) - a.day0_date = hg.study_day
    left join holidays as hs
        on a.study_id = hs.entity_id
        and coalesce(r.dose_date, e.planned_date) - a.day0_date = hs.study_day
),

-- The nearest weighing within weight_stale_days, before or after (the earlier on a tie): two
-- ASOF joins, which sort rather than pair every dose with every weighing of its animal, so the
-- build stays within DuckDB's memory limit at any number of studies.
with_weighings_around as (
    select
        d.*,
        before.measured_on as weighed_before_on,
        before.body_weight_g as weight_before_g
    from detailed as d
    asof left join weights as before
        on d.animal_id = before.animal_id and d.dose_date >= before.measured_on
),

with_weighings_after as (
    select
        d.*,
        after.measured_on as weighed_after_on,
        after.body_weight_g as weight_after_g
    from with_weighings_around as d
    asof left join weights as after
        on d.animal_id = after.animal_id and d.dose_date <= after.measured_on
),

with_nearest_weight as (
    select
        * exclude (weighed_before_on, weight_before_g, weighed_after_on, weight_after_g),
        case
            when dose_date - weighed_before_on <= {{ var('weight_stale_days') }}
                and (
                    weighed_after_on is null
                    or dose_date - weighed_before_on <= weighed_after_on - dose_date
                )
                then weight_before_g
            when weighed_after_on - dose_date <= {{ var('weight_stale_days') }}
                then weight_after_g
        end as nearest_bw_g
    from with_weighings_after
),

arithmetic as (
    select
        *,
        weight_at_dosing_g * dv as expected_vol_ul,
        stock_c * volume_ul / nullif(weight_at_dosing_g, 0) as realized_d
    from with_nearest_weight
)

select
    study_id,
    group_id,
    animal_id,
    treatment_id,
    treatment_name,
    dose_date,
    study_day,
    dose_seq,
    planned_date,
    is_planned,
    frequency,
    dosage_id,
    dosed_at,
    planned_d,
    d_recorded,
    dv,
    stock_c,
    volume_ul,
    weight_at_dosing_g,
    nearest_bw_g,
    expected_vol_ul,
    realized_d,
    100.0 * (volume_ul - expected_vol_ul) / nullif(expected_vol_ul, 0) as vol_dev_pct,
    100.0 * (realized_d - planned_d) / nullif(planned_d, 0) as dose_dev_pct,
    100.0 * (stock_c * dv - d_recorded) / nullif(d_recorded, 0) as dose_identity_dev_pct,
    100.0 * (weight_at_dosing_g - nearest_bw_g) / nullif(nearest_bw_g, 0) as wt_dev_pct,
    route,
    route_max_ml_per_kg,
    dv > route_max_ml_per_kg as dv_over_route_max,
    case
        when dosage_id is null and not in_treatment_window
            and treatment_end_source = 'treatment_end_day var' then 'off_treatment'
        when dosage_id is null and planned_date = terminated_at then 'terminated'
        when dosage_id is null and in_treatment_window and is_holiday then 'holiday'
        when dosage_id is null
            and bw_pct_chg_on_day <= -{{ var('dose_holiday_bw_pct') }} then 'held'
        -- After the last recorded dose, unless the weight says the dose was held: a group whose
        -- last animals were all on a weight holiday did not end its treatment.
        when dosage_id is null and not in_treatment_window then 'off_treatment'
        when dosage_id is null then 'missed'
        when not is_planned or not in_treatment_window then 'extra'
        when volume_ul = 0 then 'held'
        when via_window then 'off_schedule'
        when planned_d = 0 and abs(realized_d) > 1e-9 then 'wrong_dose'
        when planned_d > 0
            and abs(realized_d - planned_d) / planned_d > {{ var('dose_tol_pct') }} / 100.0
            then 'wrong_dose'
        else 'given'
    end as status,
    in_treatment_window,
    is_holiday,
    treatment_end_source
from arithmetic
