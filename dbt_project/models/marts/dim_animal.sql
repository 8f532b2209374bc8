{%- set anchors = ['tracking_date', 'first_dose', 'disease_induction', 'study_start'] -%}
{%- if var('day0_anchor') not in anchors -%}
    {{ exceptions.raise_compiler_error("day0_anchor must be one of " ~ anchors ~ ", not " ~ var('day0_anchor')) }}
{%- endif -%}
-- One row per animal: its study, group, cage, day 0 and baselines, and how (and when) it left.
with animals as (
    select * from {{ ref('stg_invivo__animals') }}
),

studies as (
    select * from {{ ref('int_study_dates') }}
),

groups as (
    select * from {{ ref('stg_invivo__study_groups') }}
),

cages as (
    select * from {{ ref('stg_invivo__cages') }}
),

reasons as (
    select * from {{ ref('seed_termination_reasons') }}
),

first_doses as (
    select
        d.animal_id,
        min({{ local_date('d.dosed_at', 's.timezone') }}) as first_dose_date
    from {{ ref('stg_invivo__dosages') }} as d
    inner join studies as s on d.study_id = s.study_id
    group by d.animal_id
),

daily as (
    select * from {{ ref('int_animal_daily_measures') }}
),

first_measured as (
    select animal_id, min(measured_on) as first_measured_on, max(measured_on) as last_measured_on
    from daily
    group by animal_id
),

anchored as (
    select
        a.*,
        s.timezone,
        s.started_on as study_started_on,
        s.as_of_date,
        f.first_dose_date,
        m.first_measured_on,
        m.last_measured_on,
        coalesce(
            case '{{ var("day0_anchor") }}'
                when 'tracking_date' then a.tracking_date
                when 'first_dose' then f.first_dose_date
                when 'disease_induction' then a.disease_induction_date
                when 'study_start' then s.started_on
            end,
            a.tracking_date,
            f.first_dose_date,
            s.started_on
        ) as day0_date
    from animals as a
    left join studies as s on a.study_id = s.study_id
    left join first_doses as f on a.animal_id = f.animal_id
    left join first_measured as m on a.animal_id = m.animal_id
),

-- Baselines: the last value on or before day 0.
baselines as (
    select
        d.animal_id,
        arg_max(d.tumor_volume_mm3, d.measured_on)
            filter (where d.tumor_volume_mm3 is not null) as v0,
        max(d.measured_on) filter (where d.tumor_volume_mm3 is not null) as v0_date,
        arg_max(d.body_weight_g, d.measured_on) filter (where d.body_weight_g is not null) as w0,
        max(d.measured_on) filter (where d.body_weight_g is not null) as w0_date
    from daily as d
    inner join anchored as a on d.animal_id = a.animal_id
    where d.measured_on <= a.day0_date
    group by d.animal_id
)

select
    a.animal_id,
    a.study_id,
    a.group_id,
    g.group_name,
    g.group_no,
    g.is_control,
    a.cage_id,
    c.cage_name,
    a.animal_name,
    a.sex,
    a.strain,
    a.species,
    a.dob,
    a.disease_induction_date as implant_date,
    a.tracking_date,
    a.first_dose_date,
    a.day0_date,
    a.day0_date - a.dob as age_at_day0_d,
    least(
        {{ local_date('a.created_at', 'a.timezone') }},
        a.tracking_date,
        a.first_measured_on,
        a.first_dose_date
    ) as enrolled_on,
    a.terminated_at,
    a.terminated_at is not null as is_terminated,
    a.terminated_reason,
    a.terminated_reason_comment,
    r.reason_class,
    r.cause as reason_cause,
    r.is_tumour_related as reason_is_tumour_related,
    r.is_presumed_treatment_related as reason_is_presumed_treatment_related,
    coalesce(a.terminated_at, a.as_of_date) as last_on_study_date,
    coalesce(a.terminated_at, a.as_of_date) - a.day0_date as last_study_day,
    a.first_measured_on,
    a.last_measured_on,
    b.v0,
    b.v0_date,
    b.w0,
    b.w0_date
from anchored as a
left join groups as g on a.group_id = g.group_id
left join cages as c on a.cage_id = c.cage_id
left join reasons as r on a.terminated_reason = r.reason
left join baselines as b on a.animal_id = b.animal_id
