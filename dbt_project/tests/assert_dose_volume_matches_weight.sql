-- Dose arithmetic (§2): the administered volume V [µl] equals weight at dosing W [g] times the dose
-- volume DV [ml/kg], within dose_tol_pct. Returns the dosages that disagree.
{{ config(severity=var('domain_test_severity')) }}

select dosage_id, animal_id, dose_date, volume_ul, weight_at_dosing_g, dv, expected_vol_ul, vol_dev_pct
from {{ ref('rpt_dosing_compliance') }}
where dosage_id is not null
    and volume_ul > 0
    and abs(vol_dev_pct) > {{ var('dose_tol_pct') }}
