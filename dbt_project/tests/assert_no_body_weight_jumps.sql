-- Day-over-day body-weight changes larger than bw_jump_pct are flagged for review (a mistyped
-- weight more often than biology).
-- The rule is macros/dq_rules.sql's dq_no_body_weight_jumps; marts.dq_findings lists its findings.
{{ config(severity='warn', meta={'description': 'No day-over-day body-weight change above bw_jump_pct. Warns.'}) }}

{{ dq_no_body_weight_jumps() }}
