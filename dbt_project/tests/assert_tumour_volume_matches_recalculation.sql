-- The stored tumour volume equals the volume recomputed from the caliper length and width with the
-- vol_formula var, within vol_recalc_tol_pct. Returns the measurements that disagree.
{{ config(severity=var('domain_test_severity')) }}

select animal_id, measured_on, tumor_volume_mm3, tumor_volume_recalc_mm3, vol_recalc_dev_pct
from {{ ref('fct_animal_day') }}
where tumor_volume_mm3 is not null
    and tumor_volume_recalc_mm3 is not null
    and abs(vol_recalc_dev_pct) > {{ var('vol_recalc_tol_pct') }}
