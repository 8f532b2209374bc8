-- The stored tumour volume equals the volume recomputed from the caliper length and width with the
-- vol_formula var, within vol_recalc_tol_pct. Returns the measurements that disagree.
-- The rule is macros/dq_rules.sql's dq_tumour_volume_matches_recalculation; marts.dq_findings lists its findings.
{{ config(severity=var('domain_test_severity'), meta={'description': 'Stored tumour volume equals L·W²/2 (vol_formula) of the calipers within vol_recalc_tol_pct.'}) }}

{{ dq_tumour_volume_matches_recalculation() }}
