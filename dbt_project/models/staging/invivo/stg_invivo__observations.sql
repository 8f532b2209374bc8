select
    id as observation_id,
    study_id,
    animal_id,
    glossary_id,
    title,
    text as observation_text,
    type as observation_type,
    value as value_text,
    try_cast(value as double) as value_numeric,
    observed_at,
    user_id,
    created_at
from {{ source('invivo_raw', 'observations') }}
