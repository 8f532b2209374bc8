-- One row per input variable of a calculation (caliper width and length of a tumour volume).
with calculations as (
    select
        id as measurement_id,
        study_id,
        animal_id,
        unnest(cast(calculations as json[])) as calc
    from {{ source('invivo_raw', 'measurements') }}
    where json_type(calculations) = 'ARRAY'
),

variables as (
    select
        measurement_id,
        study_id,
        animal_id,
        calc ->> 'key' as calc_key,
        unnest(cast(coalesce(calc -> 'variables', '[]') as json[])) as variable
    from calculations
)

select
    measurement_id,
    calc_key,
    variable ->> 'key' as variable_key,
    variable ->> 'unit' as unit,
    try_cast(variable ->> 'value' as double) as value,
    variable ->> 'value' as value_text,
    variable ->> 'id' as variable_id,
    study_id,
    animal_id
from variables
