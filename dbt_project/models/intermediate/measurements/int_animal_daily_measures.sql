-- One row per animal and measurement day: the tumour volume with its caliper dimensions and the
-- body weight. Excluded calculations are dropped; when a day has several records of the same
-- calculation the last one entered wins and n_*_records says how many there were.
with calculations as (
    select
        *,
        case
            when calc_key in {{ sql_list(var('tumor_volume_calc_keys')) }} then 'tumour_volume'
            when calc_key in {{ sql_list(var('body_weight_calc_keys')) }} then 'body_weight'
        end as measure
    from {{ ref('stg_invivo__measurement_values') }}
    where not excluded and value is not null
),

ranked as (
    select
        *,
        row_number() over (
            partition by animal_id, measured_on, measure
            order by created_at desc, measurement_id desc
        ) as recency,
        count(*) over (partition by animal_id, measured_on, measure) as n_records
    from calculations
    where measure is not null
),

dimensions as (
    select
        measurement_id,
        calc_key,
        max(value) filter (where variable_key = '{{ var("length_variable_key") }}') as length_raw_mm,
        max(value) filter (where variable_key = '{{ var("width_variable_key") }}') as width_raw_mm
    from {{ ref('stg_invivo__measurement_variables') }}
    group by measurement_id, calc_key
),

tumour as (
    select
        r.animal_id,
        r.study_id,
        r.measured_on,
        r.measurement_id,
        r.value as tumor_volume_mm3,
        r.unit as tumor_volume_unit,
        r.formula as tumor_volume_formula,
        r.n_records,
        d.length_raw_mm,
        d.width_raw_mm
    from ranked as r
    left join dimensions as d
        on r.measurement_id = d.measurement_id and r.calc_key = d.calc_key
    where r.measure = 'tumour_volume' and r.recency = 1
),

weight as (
    select
        animal_id,
        study_id,
        measured_on,
        measurement_id,
        value as body_weight_g,
        unit as body_weight_unit,
        n_records
    from ranked
    where measure = 'body_weight' and recency = 1
)

select
    coalesce(t.animal_id, w.animal_id) as animal_id,
    coalesce(t.study_id, w.study_id) as study_id,
    coalesce(t.measured_on, w.measured_on) as measured_on,
    t.tumor_volume_mm3,
    t.tumor_volume_unit,
    t.tumor_volume_formula,
    t.length_raw_mm,
    t.width_raw_mm,
    -- In Vivo presets may swap the dimensions so that length is the larger; do it here in any case.
    greatest(t.length_raw_mm, t.width_raw_mm) as length_mm,
    least(t.length_raw_mm, t.width_raw_mm) as width_mm,
    w.body_weight_g,
    w.body_weight_unit,
    coalesce(t.n_records, 0) as n_tumour_records,
    coalesce(w.n_records, 0) as n_weight_records,
    t.measurement_id as tumour_measurement_id,
    w.measurement_id as weight_measurement_id
from tumour as t
full outer join weight as w
    on t.animal_id = w.animal_id and t.measured_on = w.measured_on
