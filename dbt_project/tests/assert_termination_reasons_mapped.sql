-- Every termination reason in use is in seed_termination_reasons, so every terminated animal has a
-- reason_class (event / censor / scheduled) for survival analysis.
-- The rule is macros/dq_rules.sql's dq_termination_reasons_mapped; marts.dq_findings lists its findings.
{{ config(severity=var('domain_test_severity'), meta={'description': 'Every termination reason in use is mapped in seed_termination_reasons.', 'dagster': {'ref': {'name': 'stg_invivo__animals'}}}) }}

{{ dq_termination_reasons_mapped() }}
