-- One row per animal and endpoint (docs/reporting-specification.md §3), times in days from day 0:
--   overall       death or humane endpoint (seed_termination_reasons class event) vs censored at
--                 scheduled sacrifice, removal or the data cut-off;
--   tumor_volume  first day V >= tumor_endpoint_mm3, or interpolated on log V between the
--                 bracketing measurements; censored at the last tumour measurement;
--   bw_loss       first day body-weight loss >= bw_endpoint_pct; censored at the last weighing;
--   tfs           tumour-free survival: first day V > tfs_detection_mm3, only for animals that
--                 were tumour free at baseline (prophylactic designs).
{%- if var('tte_method') not in ['first_obs', 'interp'] -%}
    {{ exceptions.raise_compiler_error("tte_method must be first_obs or interp") }}
{%- endif %}

with animals as (
    select * from {{ ref('dim_animal') }}
    where day0_date is not null and last_study_day >= 0
),

points as (
    select f.*
    from {{ ref('fct_animal_day') }} as f
    inner join animals as a on f.animal_id = a.animal_id
    where f.study_day >= 0 and f.on_study
),

overall as (
    select
        animal_id,
        'overall' as endpoint_type,
        cast(last_study_day as double) as time_days,
        case when reason_class = 'event' then 1 else 0 end as event,
        case
            when terminated_at is null then 'on study at data cut-off'
            when reason_class = 'event' then null
            when reason_class is null then 'unmapped reason: ' || coalesce(terminated_reason, '?')
            else reason_class || ': ' || terminated_reason
        end as censor_reason,
        'termination' as method,
        cast(last_study_day as double) as time_days_first_obs,
        cast(null as double) as time_days_interp
    from animals
),

tumour_hits as (
    select
        animal_id,
        min(study_day) filter (where tumor_volume_mm3 >= {{ var('tumor_endpoint_mm3') }}) as hit_day,
        max(study_day) as last_day
    from points
    where tumor_volume_mm3 is not null
    group by animal_id
),

tumour_brackets as (
    select
        h.animal_id,
        h.hit_day,
        h.last_day,
        max(p.study_day) filter (where p.study_day < h.hit_day) as before_day,
        arg_max(p.tumor_volume_mm3, p.study_day) filter (where p.study_day < h.hit_day) as before_v,
        max(p.tumor_volume_mm3) filter (where p.study_day = h.hit_day) as hit_v
    from tumour_hits as h
    inner join points as p on h.animal_id = p.animal_id and p.tumor_volume_mm3 is not null
    group by h.animal_id, h.hit_day, h.last_day
),

tumour as (
    select
        animal_id,
        'tumor_volume' as endpoint_type,
        hit_day is not null as is_event,
        cast(coalesce(hit_day, last_day) as double) as time_days_first_obs,
        case
            when hit_day is null then null
            when before_day is null or hit_v <= before_v then cast(hit_day as double)
            else before_day + (hit_day - before_day)
                * (ln({{ var('tumor_endpoint_mm3') }}) - ln(before_v)) / (ln(hit_v) - ln(before_v))
        end as time_days_interp
    from tumour_brackets
),

bw_loss as (
    select
        animal_id,
        min(study_day) filter (where bw_pct_chg <= -{{ var('bw_endpoint_pct') }}) as hit_day,
        max(study_day) as last_day
    from points
    where bw_pct_chg is not null
    group by animal_id
),

tfs as (
    select
        p.animal_id,
        min(p.study_day) filter (where p.tumor_volume_mm3 > {{ var('tfs_detection_mm3') }}) as hit_day,
        max(p.study_day) as last_day
    from points as p
    inner join animals as a on p.animal_id = a.animal_id
    where p.tumor_volume_mm3 is not null
        and (a.v0 is null or a.v0 <= {{ var('tfs_detection_mm3') }})
    group by p.animal_id
),

endpoints as (
    select * from overall

    union all

    select
        animal_id,
        endpoint_type,
        {%- if var('tte_method') == 'interp' %}
        coalesce(time_days_interp, time_days_first_obs) as time_days,
        {%- else %}
        time_days_first_obs as time_days,
        {%- endif %}
        case when is_event then 1 else 0 end as event,
        case when not is_event then 'endpoint not reached by the last measurement' end,
        '{{ var("tte_method") }}' as method,
        time_days_first_obs,
        time_days_interp
    from tumour

    {%- for name, cte in [('bw_loss', 'bw_loss'), ('tfs', 'tfs')] %}

    union all

    select
        animal_id,
        '{{ name }}' as endpoint_type,
        cast(coalesce(hit_day, last_day) as double) as time_days,
        case when hit_day is not null then 1 else 0 end as event,
        case when hit_day is null then 'endpoint not reached by the last measurement' end,
        'first_obs' as method,
        cast(coalesce(hit_day, last_day) as double) as time_days_first_obs,
        cast(null as double) as time_days_interp
    from {{ cte }}
    {%- endfor %}
)

select
    e.animal_id,
    a.study_id,
    a.group_id,
    e.endpoint_type,
    e.time_days,
    e.event,
    e.censor_reason,
    e.method,
    e.time_days_first_obs,
    e.time_days_interp
from endpoints as e
inner join animals as a on e.animal_id = a.animal_id
