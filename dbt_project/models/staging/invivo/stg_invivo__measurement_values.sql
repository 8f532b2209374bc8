-- One row per calculation of a measurement (tumour volume, weight, ...), unnested from the
-- calculations array. The API sends values as strings: value is the DOUBLE, value_text the string.
with calculations as (
    select
        id as measurement_id,
        study_id,
        animal_id,
        measured_at,
        user_id,
        created_at,
        unnest(cast(calculations as json[])) as calc,
        unnest(range(1, cast(json_array_length(calculations) as bigint) + 1)) as calc_position
    from {{ source('invivo_raw', 'measurements') }}
    where json_type(calculations) = 'ARRAY'
)

select
    measurement_id,
    study_id,
    animal_id,
    measured_at as measured_on,
    calc ->> 'key' as calc_key,
    calc ->> 'name' as calc_name,
    calc ->> 'unit' as unit,
    try_cast(calc ->> 'value' as double) as value,
    calc ->> 'value' as value_text,
    calc ->> 'formula' as formula,
    coalesce(try_cast(calc ->> 'excluded' as boolean), false) as excluded,
    calc ->> 'id' as calc_id,
    cast(calc_position as integer) as calc_position,
    user_id,
    created_at
from calculations
