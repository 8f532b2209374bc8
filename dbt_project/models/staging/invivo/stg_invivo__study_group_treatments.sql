select
    study_group_id as group_id,
    id as treatment_id,
    study_id,
    name as treatment_name,
    {{ quantity_columns('dose', 'dose') }},
    {{ quantity_columns('dose_volume', 'dose_volume') }}
from {{ source('invivo_raw', 'study_group_treatments') }}
