-- Dose arithmetic (docs/reporting-specification.md §2): the administered volume V [µl] equals weight at dosing W [g] times the dose
-- volume DV [ml/kg], within dose_tol_pct. Returns the dosages that disagree.
-- The rule is macros/dq_rules.sql's dq_dose_volume_matches_weight; marts.dq_findings lists its findings.
{{ config(severity=var('domain_test_severity'), meta={'description': 'Administered volume V ≈ weight at dosing W × dose volume DV within dose_tol_pct.'}) }}

{{ dq_dose_volume_matches_weight() }}
