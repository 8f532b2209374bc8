-- One row per study: the dates every report anchors on. as_of_date is the data cut-off, the last
-- day anything was recorded for the study (or an animal left it); animals still on study are on
-- study up to that day.
with studies as (
    select * from {{ ref('stg_invivo__studies') }}
),

measurements as (
    select
        study_id,
        min(measured_on) as first_measured_on,
        max(measured_on) as last_measured_on,
        count(distinct measured_on) as n_measurement_days
    from {{ ref('stg_invivo__measurement_values') }}
    group by study_id
),

dosages as (
    select
        d.study_id,
        min({{ local_date('d.dosed_at', 's.timezone') }}) as first_dosed_on,
        max({{ local_date('d.dosed_at', 's.timezone') }}) as last_dosed_on
    from {{ ref('stg_invivo__dosages') }} as d
    inner join studies as s on d.study_id = s.study_id
    group by d.study_id
),

observations as (
    select
        o.study_id,
        max({{ local_date('o.observed_at', 's.timezone') }}) as last_observed_on
    from {{ ref('stg_invivo__observations') }} as o
    inner join studies as s on o.study_id = s.study_id
    group by o.study_id
),

samples as (
    select
        p.study_id,
        max({{ local_date('p.collected_at', 's.timezone') }}) as last_sampled_on
    from {{ ref('stg_invivo__samples') }} as p
    inner join studies as s on p.study_id = s.study_id
    group by p.study_id
),

terminations as (
    select
        study_id,
        max(terminated_at) as last_terminated_on
    from {{ ref('stg_invivo__animals') }}
    group by study_id
)

select
    s.study_id,
    s.timezone,
    s.started_on,
    m.first_measured_on,
    m.last_measured_on,
    coalesce(m.n_measurement_days, 0) as n_measurement_days,
    d.first_dosed_on,
    d.last_dosed_on,
    greatest(
        m.last_measured_on,
        d.last_dosed_on,
        o.last_observed_on,
        p.last_sampled_on,
        t.last_terminated_on
    ) as as_of_date
from studies as s
left join measurements as m on s.study_id = m.study_id
left join dosages as d on s.study_id = d.study_id
left join observations as o on s.study_id = o.study_id
left join samples as p on s.study_id = p.study_id
left join terminations as t on s.study_id = t.study_id
