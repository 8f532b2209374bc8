select
    id as group_id,
    study_id,
    name as group_name,
    no as group_no,
    color,
    max_animals,
    coalesce(control, false) as is_control,
    created_at,
    updated_at
from {{ source('invivo_raw', 'study_groups') }}
