-- In Vivo presets swap the calipers so that the stored length is the larger dimension; a stored
-- length below the width means the swap was off (the marts swap again, so this only warns).
-- The rule is macros/dq_rules.sql's dq_length_not_below_width; marts.dq_findings lists its findings.
{{ config(severity='warn', meta={'description': 'Stored caliper length is not below the width (the preset\'s auto-swap). Warns.'}) }}

{{ dq_length_not_below_width() }}
