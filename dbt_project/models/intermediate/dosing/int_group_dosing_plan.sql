-- One row per group and treatment: what the group is planned to receive and how often. The API has
-- no schedule field, so the frequency is read from the group's name (a token of dose_frequencies
-- such as QD or Q3D), else from the tokens of the study's other groups (a vehicle group is dosed
-- like the rest), else default_dose_frequency. The route comes from the group's metadata.
-- The treatment window ends on the study day of the var treatment_end_day (keyed by group id, else
-- study id) or, without one, on the last day any animal of the group was dosed with the treatment:
-- planned days after it are follow-up ("off treatment"), not missed doses.
{%- set frequencies = var('dose_frequencies') %}

with groups as (
    select * from {{ ref('stg_invivo__study_groups') }}
),

named as (
    select
        group_id,
        study_id,
        case
            {%- for token in frequencies %}
            when regexp_matches(group_name, '(^|[^A-Za-z0-9]){{ token }}($|[^A-Za-z0-9])')
                then '{{ token }}'
            {%- endfor %}
        end as named_frequency
    from groups
),

study_frequency as (
    select study_id, mode(named_frequency) as study_frequency
    from named
    where named_frequency is not null
    group by study_id
),

frequencies as (
    select * from (values
        {%- for token, f in frequencies.items() %}
        ('{{ token }}', {{ f.every_days }}, {{ f.per_day }}){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as t(frequency, every_days, per_day)
),

routes as (
    select entity_id as group_id, upper(value) as route
    from {{ ref('stg_invivo__entity_metadata') }}
    where entity_type = 'study_group' and key = '{{ var("dosing_route_metadata_key") }}'
),

route_limits as {{ map_var_values('route_max_ml_per_kg', 'route', 'route_max_ml_per_kg') }},

end_days as {{ map_var_values('treatment_end_day', 'entity_id', 'end_day') }},

last_doses as (
    select
        a.group_id,
        d.treatment_id,
        max({{ local_date('d.dosed_at', 's.timezone') }}) as last_dosed_on
    from {{ ref('stg_invivo__dosages') }} as d
    inner join {{ ref('stg_invivo__animals') }} as a on d.animal_id = a.animal_id
    inner join {{ ref('int_study_dates') }} as s on a.study_id = s.study_id
    group by a.group_id, d.treatment_id
)

select
    gt.group_id,
    gt.treatment_id,
    n.study_id,
    t.treatment_name,
    t.dose_value as planned_dose_mg_kg,
    t.dose_volume_value as planned_dose_volume_ml_kg,
    t.stock_value as planned_stock_mg_ml,
    coalesce(n.named_frequency, s.study_frequency, '{{ var("default_dose_frequency") }}') as frequency,
    n.named_frequency is not null as frequency_from_group_name,
    f.every_days,
    f.per_day,
    r.route,
    l.route_max_ml_per_kg,
    cast(coalesce(eg.end_day, es.end_day) as integer) as treatment_end_day,
    ld.last_dosed_on as last_recorded_dose_date,
    case
        when coalesce(eg.end_day, es.end_day) is not null then 'treatment_end_day var'
        when ld.last_dosed_on is not null then 'last recorded dose'
    end as treatment_end_source
from {{ ref('stg_invivo__study_group_treatments') }} as gt
inner join named as n on gt.group_id = n.group_id
left join {{ ref('stg_invivo__treatments') }} as t on gt.treatment_id = t.treatment_id
left join study_frequency as s on n.study_id = s.study_id
left join frequencies as f
    on coalesce(n.named_frequency, s.study_frequency, '{{ var("default_dose_frequency") }}') = f.frequency
left join routes as r on gt.group_id = r.group_id
left join route_limits as l on r.route = l.route
left join end_days as eg on gt.group_id = eg.entity_id
left join end_days as es on n.study_id = es.entity_id
left join last_doses as ld on gt.group_id = ld.group_id and gt.treatment_id = ld.treatment_id
