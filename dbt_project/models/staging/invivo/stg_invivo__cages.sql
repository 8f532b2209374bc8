select
    id as cage_id,
    study_id,
    name as cage_name,
    catalog,
    created_at
from {{ source('invivo_raw', 'cages') }}
