-- Dosing compliance per animal (see the macro dosing_compliance_rollup).
{{ dosing_compliance_rollup(['study_id', 'group_id', 'animal_id']) }}
