select
    id as dosage_id,
    study_id,
    animal_id,
    treatment_id,
    measurement_id,
    dosed_at,
    {{ quantity_columns('dose', 'dose') }},
    {{ quantity_columns('dose_volume', 'dose_volume') }},
    {{ quantity_columns('stock', 'stock') }},
    {{ quantity_columns('volume', 'volume') }},
    try_cast(weight_at_dosing as double) as weight_at_dosing,
    weight_at_dosing as weight_at_dosing_text,
    name as dosage_name,
    user_id,
    created_at
from {{ source('invivo_raw', 'dosages') }}
