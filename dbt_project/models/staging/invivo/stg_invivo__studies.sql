select
    id as study_id,
    name as study_name,
    code as study_code,
    type as study_type,
    status,
    description,
    timezone,
    project_id,
    author_id,
    owner_id,
    started_on,
    completed_at,
    canceled_at,
    created_at,
    updated_at,
    _loaded_at as loaded_at
from {{ source('invivo_raw', 'studies') }}
