-- Every study with groups has exactly one control group (In Vivo allows one; TGI, ILS and every
-- "vs control" column depend on it). Returns the offending studies.
-- The rule is macros/dq_rules.sql's dq_one_control_group_per_study; marts.dq_findings lists its findings.
{{ config(severity=var('domain_test_severity'), meta={'description': 'Every study with groups has exactly one control group.'}) }}

{{ dq_one_control_group_per_study() }}
