-- Clinical-sign incidence per group, study day and observation title: animals with the sign over
-- animals checked that day (any observation or measurement recorded for them), the largest and
-- mean score (numeric values as recorded; severities scored by the severity_scores var) and the
-- first day any animal of the group showed it.
with animals as (
    select a.*, s.timezone
    from {{ ref('dim_animal') }} as a
    inner join {{ ref('int_study_dates') }} as s on a.study_id = s.study_id
),

severities as {{ map_var_values('severity_scores', 'severity', 'score') }},

observations as (
    select
        o.observation_id,
        o.animal_id,
        a.study_id,
        a.group_id,
        o.glossary_id,
        o.title,
        {{ local_date('o.observed_at', 'a.timezone') }} - a.day0_date as study_day,
        coalesce(o.value_numeric, sv.score) as score
    from {{ ref('stg_invivo__observations') }} as o
    inner join animals as a on o.animal_id = a.animal_id
    left join severities as sv on o.value_text = sv.severity
),

checked as (
    select animal_id, group_id, study_day from observations
    union
    select animal_id, group_id, study_day from {{ ref('fct_animal_day') }} where on_study
),

observed_per_day as (
    select group_id, study_day, count(distinct animal_id) as n_observed
    from checked
    group by group_id, study_day
),

signs as (
    select
        study_id,
        group_id,
        study_day,
        title,
        any_value(glossary_id) as glossary_id,
        count(distinct animal_id) as n_with_sign,
        count(*) as n_records,
        max(score) as max_score,
        avg(score) as mean_score
    from observations
    group by study_id, group_id, study_day, title
)

select
    s.study_id,
    s.group_id,
    g.group_name,
    s.study_day,
    s.title as glossary_title,
    s.glossary_id,
    o.n_observed,
    s.n_with_sign,
    s.n_records,
    100.0 * s.n_with_sign / nullif(o.n_observed, 0) as incidence_pct,
    s.max_score,
    s.mean_score,
    min(s.study_day) over (partition by s.group_id, s.title) as first_onset_day
from signs as s
inner join {{ ref('stg_invivo__study_groups') }} as g on s.group_id = g.group_id
left join observed_per_day as o on s.group_id = o.group_id and s.study_day = o.study_day
