-- In Vivo presets swap the calipers so that the stored length is the larger dimension; a stored
-- length below the width means the swap was off (the marts swap again, so this only warns).
{{ config(severity='warn') }}

select animal_id, measured_on, length_raw_mm, width_raw_mm
from {{ ref('int_animal_daily_measures') }}
where length_raw_mm < width_raw_mm
