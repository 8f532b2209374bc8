-- Daily census per study, group and calendar date, from the first enrolment to the study's data
-- cut-off: animals enrolled, on study (macros/on_study.sql: [enrolled, terminated], the
-- termination day included, as in the group curves), terminated so far by reason class (on its
-- termination day an animal is both on study and terminated), and the group's cages with their
-- occupancy (all on-study animals in the cage count, whatever their group).
with studies as (
    select * from {{ ref('int_study_dates') }}
    where as_of_date is not null
),

animals as (
    select * from {{ ref('dim_animal') }}
),

groups as (
    select * from {{ ref('stg_invivo__study_groups') }}
),

spine as (
    select
        s.study_id,
        cast(unnest(generate_series(min(a.enrolled_on), s.as_of_date, interval 1 day)) as date)
            as census_date
    from studies as s
    inner join animals as a on s.study_id = a.study_id
    group by s.study_id, s.as_of_date
),

study_day0 as (
    select study_id, min(day0_date) as day0_date
    from animals
    group by study_id
),

animal_days as (
    select
        sp.study_id,
        sp.census_date,
        a.group_id,
        a.animal_id,
        a.cage_id,
        {{ on_study('a', 'sp.census_date') }} as is_on_study,
        a.terminated_at <= sp.census_date as is_terminated,
        a.reason_class
    from spine as sp
    inner join animals as a
        on sp.study_id = a.study_id and a.enrolled_on <= sp.census_date
),

cage_days as (
    select
        study_id,
        census_date,
        cage_id,
        count(*) as n_in_cage,
        count(distinct group_id) as n_groups_in_cage
    from animal_days
    where is_on_study and cage_id is not null
    group by study_id, census_date, cage_id
),

group_cages as (
    select
        ad.group_id,
        ad.census_date,
        count(distinct ad.cage_id) as n_cages,
        max(cd.n_in_cage) as max_per_cage,
        count(distinct ad.cage_id) filter (where cd.n_groups_in_cage > 1) as mixed_group_cages,
        count(distinct ad.cage_id) filter (
            where cd.n_in_cage > {{ var('cage_capacity') }}
        ) as over_capacity_cages
    from animal_days as ad
    inner join cage_days as cd
        on ad.study_id = cd.study_id and ad.census_date = cd.census_date and ad.cage_id = cd.cage_id
    where ad.is_on_study
    group by ad.group_id, ad.census_date
),

counts as (
    select
        study_id,
        group_id,
        census_date,
        count(*) as n_enrolled,
        count(*) filter (where is_on_study) as n_on_study,
        count(*) filter (where is_terminated) as n_terminated_cum,
        count(*) filter (where is_terminated and reason_class = 'event') as n_terminated_event_cum,
        count(*) filter (where is_terminated and reason_class = 'censor') as n_terminated_censor_cum,
        count(*) filter (where is_terminated and reason_class = 'scheduled')
            as n_terminated_scheduled_cum,
        count(*) filter (where is_terminated and reason_class is null) as n_terminated_unmapped_cum
    from animal_days
    group by study_id, group_id, census_date
)

select
    sp.study_id,
    g.group_id,
    g.group_name,
    sp.census_date,
    sp.census_date - d.day0_date as study_day,
    coalesce(c.n_enrolled, 0) as n_enrolled,
    coalesce(c.n_on_study, 0) as n_on_study,
    coalesce(c.n_terminated_cum, 0) as n_terminated_cum,
    coalesce(c.n_terminated_event_cum, 0) as n_terminated_event_cum,
    coalesce(c.n_terminated_censor_cum, 0) as n_terminated_censor_cum,
    coalesce(c.n_terminated_scheduled_cum, 0) as n_terminated_scheduled_cum,
    coalesce(c.n_terminated_unmapped_cum, 0) as n_terminated_unmapped_cum,
    coalesce(gc.n_cages, 0) as n_cages,
    gc.max_per_cage,
    coalesce(gc.mixed_group_cages, 0) as mixed_group_cages,
    coalesce(gc.over_capacity_cages, 0) as over_capacity_cages
from spine as sp
inner join groups as g on sp.study_id = g.study_id
left join study_day0 as d on sp.study_id = d.study_id
left join counts as c on g.group_id = c.group_id and sp.census_date = c.census_date
left join group_cages as gc on g.group_id = gc.group_id and sp.census_date = gc.census_date
