-- One row per entry of a sample's details array ({key, unit, value}: volume in ml, weight in g).
with details as (
    select
        id as sample_id,
        study_id,
        unnest(cast(details as json[])) as detail,
        unnest(range(1, cast(json_array_length(details) as bigint) + 1)) as detail_position
    from {{ source('invivo_raw', 'samples') }}
    where json_type(details) = 'ARRAY'
)

select
    sample_id,
    detail ->> 'key' as detail_key,
    detail ->> 'unit' as unit,
    try_cast(detail ->> 'value' as double) as value,
    detail ->> 'value' as value_text,
    cast(detail_position as integer) as detail_position,
    study_id
from details
