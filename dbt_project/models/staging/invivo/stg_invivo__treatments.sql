select
    id as treatment_id,
    study_id,
    type as treatment_type,
    name as treatment_name,
    external_entity_id,
    {{ quantity_columns('dose', 'dose') }},
    {{ quantity_columns('dose_volume', 'dose_volume') }},
    {{ quantity_columns('stock', 'stock') }},
    {{ quantity_columns('volume', 'volume') }},
    created_at,
    updated_at
from {{ source('invivo_raw', 'treatments') }}
