-- Day-over-day body-weight changes larger than bw_jump_pct are flagged for review (a mistyped
-- weight more often than biology).
{{ config(severity='warn') }}

select animal_id, measured_on, body_weight_g, bw_day_over_day_pct
from {{ ref('fct_animal_day') }}
where bw_jump_flag
