-- Dosing compliance per group (see the macro dosing_compliance_rollup).
{{ dosing_compliance_rollup(['study_id', 'group_id']) }}
