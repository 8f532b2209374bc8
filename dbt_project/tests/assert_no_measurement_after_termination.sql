-- Nothing is measured on an animal after the day it was terminated.
-- The rule is macros/dq_rules.sql's dq_no_measurement_after_termination; marts.dq_findings lists its findings.
{{ config(severity=var('domain_test_severity'), meta={'description': 'No measurement is dated after the animal\'s termination.', 'dagster': {'ref': {'name': 'stg_invivo__measurement_values'}}}) }}

{{ dq_no_measurement_after_termination() }}
