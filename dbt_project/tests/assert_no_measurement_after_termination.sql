-- Nothing is measured on an animal after the day it was terminated.
{{ config(severity=var('domain_test_severity'), meta={'dagster': {'ref': {'name': 'stg_measurement_values'}}}) }}

select m.measurement_id, m.animal_id, m.measured_on, a.terminated_at
from {{ ref('stg_measurement_values') }} as m
inner join {{ ref('stg_animals') }} as a on m.animal_id = a.animal_id
where a.terminated_at is not null and m.measured_on > a.terminated_at
