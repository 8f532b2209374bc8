-- Every data-quality finding on the tenant's records, one row each: the failing rows of the domain
-- tests (tests/assert_*.sql), from the same rule macros (macros/dq_rules.sql) the tests select
-- from, so a rule is written once and the table always agrees with the failed checks. Built
-- whatever the tests find: findings warn, they do not stop the marts or the reports.
{%- set rules = [
    'dose_matches_stock_times_dose_volume',
    'dose_volume_matches_weight',
    'length_not_below_width',
    'no_body_weight_jumps',
    'no_measurement_after_termination',
    'one_control_group_per_study',
    'termination_reasons_mapped',
    'tumour_volume_matches_recalculation',
] %}

with findings as (
    {%- for rule in rules %}
    {{ context['dq_' ~ rule]() }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    f.test_name,
    f.rule,
    f.study_id,
    f.animal_id,
    a.animal_name,
    f.record_id,
    f.finding_on,
    f.detail
from findings as f
left join {{ ref('stg_invivo__animals') }} as a on f.animal_id = a.animal_id
order by f.study_id, f.test_name, f.finding_on, f.animal_id, f.record_id
