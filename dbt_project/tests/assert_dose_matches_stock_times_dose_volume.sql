-- Dose arithmetic (§2): the recorded dose d [mg/kg] equals stock concentration c [mg/ml] times dose
-- volume DV [ml/kg], within dose_tol_pct (for a vehicle, c·DV must be 0 when d is 0).
{{ config(severity=var('domain_test_severity')) }}

select dosage_id, animal_id, dose_date, d_recorded, stock_c, dv, dose_identity_dev_pct
from {{ ref('rpt_dosing_compliance') }}
where dosage_id is not null
    and d_recorded is not null
    and stock_c is not null
    and dv is not null
    and (
        (d_recorded = 0 and abs(stock_c * dv) > 1e-9)
        or (d_recorded <> 0 and abs(dose_identity_dev_pct) > {{ var('dose_tol_pct') }})
    )
