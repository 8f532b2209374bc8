select
    id as sample_id,
    sample_id as sample_label,
    study_id,
    animal_id,
    type as sample_type,
    collected_at,
    comments,
    user_id,
    created_at
from {{ source('invivo_raw', 'samples') }}
