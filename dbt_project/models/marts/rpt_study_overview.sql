-- One row per study: status and dates, groups, animals enrolled, on study and terminated, the last
-- measurement, and data completeness = animal-days measured / animal-days expected, where the
-- expected ones are, on every day the study recorded measurements, the animals on study that day.
with studies as (
    select s.*, d.first_measured_on, d.last_measured_on, d.as_of_date, d.n_measurement_days
    from {{ ref('stg_invivo__studies') }} as s
    left join {{ ref('int_study_dates') }} as d on s.study_id = d.study_id
),

animals as (
    select * from {{ ref('dim_animal') }}
),

group_counts as (
    select
        study_id,
        count(*) as n_groups,
        count(*) filter (where is_control) as n_control_groups
    from {{ ref('stg_invivo__study_groups') }}
    group by study_id
),

animal_counts as (
    select
        study_id,
        count(*) as n_animals_enrolled,
        count(*) filter (where terminated_at is null) as n_on_study,
        count(*) filter (where terminated_at is not null) as n_terminated,
        count(*) filter (where reason_class = 'event') as n_terminated_event,
        count(*) filter (where reason_class in ('censor', 'scheduled')) as n_terminated_censored,
        min(day0_date) as day0_date
    from animals
    group by study_id
),

measurement_days as (
    select distinct study_id, measured_on
    from {{ ref('int_animal_daily_measures') }}
),

expected as (
    select m.study_id, count(*) as n_expected
    from measurement_days as m
    inner join animals as a
        on m.study_id = a.study_id and {{ on_study('a', 'm.measured_on') }}
    group by m.study_id
),

present as (
    select d.study_id, count(*) as n_present
    from {{ ref('int_animal_daily_measures') }} as d
    inner join animals as a
        on d.animal_id = a.animal_id and {{ on_study('a', 'd.measured_on') }}
    group by d.study_id
),

activity as (
    select study_id, count(*) as n_measurements
    from {{ ref('stg_invivo__measurement_values') }}
    group by study_id
),

dosing as (
    select
        study_id,
        sum(n_given) as n_doses_given,
        100.0 * sum(n_given) / nullif(sum(n_planned_alive), 0) as dosing_compliance_pct
    from {{ ref('rpt_dosing_compliance_by_group') }}
    group by study_id
),

counts as (
    select 'observations' as kind, study_id, count(*) as n
    from {{ ref('stg_invivo__observations') }}
    group by study_id

    union all

    select 'samples', study_id, count(*)
    from {{ ref('stg_invivo__samples') }}
    group by study_id
)

select
    s.study_id,
    s.study_code,
    s.study_name,
    s.study_type,
    s.status,
    s.started_on,
    s.completed_at,
    s.canceled_at,
    ac.day0_date,
    s.first_measured_on,
    s.last_measured_on,
    s.as_of_date,
    s.as_of_date - ac.day0_date as days_since_day0,
    coalesce(gc.n_groups, 0) as n_groups,
    coalesce(gc.n_control_groups, 0) as n_control_groups,
    coalesce(ac.n_animals_enrolled, 0) as n_animals_enrolled,
    coalesce(ac.n_on_study, 0) as n_on_study,
    coalesce(ac.n_terminated, 0) as n_terminated,
    coalesce(ac.n_terminated_event, 0) as n_terminated_event,
    coalesce(ac.n_terminated_censored, 0) as n_terminated_censored,
    coalesce(s.n_measurement_days, 0) as n_measurement_days,
    coalesce(m.n_measurements, 0) as n_measurement_values,
    coalesce(ds.n_doses_given, 0) as n_doses_given,
    ds.dosing_compliance_pct,
    coalesce(o.n, 0) as n_observations,
    coalesce(p.n, 0) as n_samples,
    coalesce(pr.n_present, 0) as n_animal_days_measured,
    coalesce(e.n_expected, 0) as n_animal_days_expected,
    100.0 * pr.n_present / nullif(e.n_expected, 0) as data_completeness_pct
from studies as s
left join group_counts as gc on s.study_id = gc.study_id
left join animal_counts as ac on s.study_id = ac.study_id
left join expected as e on s.study_id = e.study_id
left join present as pr on s.study_id = pr.study_id
left join activity as m on s.study_id = m.study_id
left join dosing as ds on s.study_id = ds.study_id
left join counts as o on s.study_id = o.study_id and o.kind = 'observations'
left join counts as p on s.study_id = p.study_id and p.kind = 'samples'
