-- Dose arithmetic (docs/reporting-specification.md §2): the recorded dose d [mg/kg] equals stock concentration c [mg/ml] times dose
-- volume DV [ml/kg], within dose_tol_pct (for a vehicle, c·DV must be 0 when d is 0).
-- The rule is macros/dq_rules.sql's dq_dose_matches_stock_times_dose_volume; marts.dq_findings lists its findings.
{{ config(severity=var('domain_test_severity'), meta={'description': 'Recorded dose d ≈ stock c × dose volume DV within dose_tol_pct.'}) }}

{{ dq_dose_matches_stock_times_dose_volume() }}
