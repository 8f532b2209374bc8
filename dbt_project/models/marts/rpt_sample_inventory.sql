-- Samples per group, collection day (timepoint, in study days) and sample type: how many, from how
-- many animals (and what share of the animals on study that day), and their total volume (µl) and
-- weight (g) from the samples' details.
with animals as (
    select a.*, s.timezone
    from {{ ref('dim_animal') }} as a
    inner join {{ ref('int_study_dates') }} as s on a.study_id = s.study_id
),

details as (
    select
        sample_id,
        sum(
            case
                when detail_key = 'volume' and lower(unit) = 'ml' then value * 1000
                when detail_key = 'volume' and lower(unit) in ('µl', 'ul', 'μl') then value
            end
        ) as volume_ul,
        sum(
            case
                when detail_key = 'weight' and lower(unit) = 'g' then value
                when detail_key = 'weight' and lower(unit) = 'mg' then value / 1000
            end
        ) as weight_g
    from {{ ref('stg_invivo__sample_details') }}
    group by sample_id
),

samples as (
    select
        p.sample_id,
        p.sample_type,
        a.study_id,
        a.group_id,
        p.animal_id,
        {{ local_date('p.collected_at', 'a.timezone') }} - a.day0_date as study_day,
        d.volume_ul,
        d.weight_g
    from {{ ref('stg_invivo__samples') }} as p
    inner join animals as a on p.animal_id = a.animal_id
    left join details as d on p.sample_id = d.sample_id
),

inventory as (
    select
        study_id,
        group_id,
        study_day,
        sample_type,
        count(*) as n_samples,
        count(distinct animal_id) as n_animals,
        sum(volume_ul) as total_volume_ul,
        sum(weight_g) as total_weight_g
    from samples
    group by study_id, group_id, study_day, sample_type
),

on_study as (
    select
        i.group_id,
        i.study_day,
        count(a.animal_id) filter (
            where {{ on_study_day('a', 'i.study_day') }}
        ) as n_on_study
    from (select distinct group_id, study_day from inventory) as i
    inner join animals as a on i.group_id = a.group_id
    group by i.group_id, i.study_day
)

select
    i.study_id,
    i.group_id,
    g.group_name,
    i.study_day as timepoint_day,
    i.sample_type,
    i.n_samples,
    i.n_animals,
    o.n_on_study,
    100.0 * i.n_animals / nullif(o.n_on_study, 0) as pct_animals_sampled,
    i.total_volume_ul,
    i.total_weight_g
from inventory as i
inner join {{ ref('stg_invivo__study_groups') }} as g on i.group_id = g.group_id
left join on_study as o on i.group_id = o.group_id and i.study_day = o.study_day
