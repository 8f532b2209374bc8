{#- The data-quality rules on a tenant's records, each written once: the singular test of the same
    name in tests/ selects from its macro (its failing rows are the findings), and the model
    marts.dq_findings unions them all. Every rule returns the same columns (dq_finding):
    test_name (the dbt test, which is also the Dagster check), rule, study_id, animal_id,
    record_id (the dosage or measurement, when the finding is about one), finding_on (the day it is
    about) and detail (what was found, with the numbers). -#}

{% macro dq_finding(test_name, rule, study_id, animal_id, record_id, finding_on, detail) -%}
    '{{ test_name }}' as test_name,
    '{{ rule }}' as rule,
    cast({{ study_id }} as varchar) as study_id,
    cast({{ animal_id }} as varchar) as animal_id,
    cast({{ record_id }} as varchar) as record_id,
    cast({{ finding_on }} as date) as finding_on,
    cast({{ detail }} as varchar) as detail
{%- endmacro %}

{#- Dose arithmetic (docs/reporting-specification.md §2): the recorded dose d [mg/kg] equals stock concentration c [mg/ml] times
    dose volume DV [ml/kg], within dose_tol_pct (for a vehicle, c·DV must be 0 when d is 0). -#}
{% macro dq_dose_matches_stock_times_dose_volume() -%}
select
    {{ dq_finding(
        'assert_dose_matches_stock_times_dose_volume', 'Dose = stock × dose volume',
        'study_id', 'animal_id', 'dosage_id', 'dose_date',
        "printf('recorded dose %g mg/kg, stock %g mg/ml × dose volume %g ml/kg = %g mg/kg',
            d_recorded, stock_c, dv, stock_c * dv)
            || coalesce(printf(' (off by %.1f %%, tolerance %g %%)', dose_identity_dev_pct, "
            ~ var('dose_tol_pct') ~ "::double), '')"
    ) }}
from {{ ref('rpt_dosing_compliance') }}
where dosage_id is not null
    and d_recorded is not null
    and stock_c is not null
    and dv is not null
    and (
        (d_recorded = 0 and abs(stock_c * dv) > 1e-9)
        or (d_recorded <> 0 and abs(dose_identity_dev_pct) > {{ var('dose_tol_pct') }})
    )
{%- endmacro %}

{#- Dose arithmetic (docs/reporting-specification.md §2): the administered volume V [µl] equals weight at dosing W [g] times the
    dose volume DV [ml/kg], within dose_tol_pct. -#}
{% macro dq_dose_volume_matches_weight() -%}
select
    {{ dq_finding(
        'assert_dose_volume_matches_weight', 'Dose volume = weight × dose volume per kg',
        'study_id', 'animal_id', 'dosage_id', 'dose_date',
        "printf('volume %g µl, weight %g g × dose volume %g ml/kg = %g µl (off by %.1f %%, tolerance %g %%)',
            volume_ul, weight_at_dosing_g, dv, expected_vol_ul, vol_dev_pct, "
            ~ var('dose_tol_pct') ~ "::double)"
    ) }}
from {{ ref('rpt_dosing_compliance') }}
where dosage_id is not null
    and volume_ul > 0
    and abs(vol_dev_pct) > {{ var('dose_tol_pct') }}
{%- endmacro %}

{#- In Vivo presets swap the calipers so that the stored length is the larger dimension; a stored
    length below the width means the swap was off (the marts swap again: a review flag). -#}
{% macro dq_length_not_below_width() -%}
select
    {{ dq_finding(
        'assert_length_not_below_width', 'Caliper length ≥ width',
        'study_id', 'animal_id', 'tumour_measurement_id', 'measured_on',
        "printf('stored length %g mm below width %g mm (swapped back in the marts)',
            length_raw_mm, width_raw_mm)"
    ) }}
from {{ ref('int_animal_daily_measures') }}
where length_raw_mm < width_raw_mm
{%- endmacro %}

{#- Day-over-day body-weight changes larger than bw_jump_pct are flagged for review (a mistyped
    weight more often than biology). -#}
{% macro dq_no_body_weight_jumps() -%}
select
    {{ dq_finding(
        'assert_no_body_weight_jumps', 'No body-weight jump',
        'study_id', 'animal_id', 'weight_measurement_id', 'measured_on',
        "printf('body weight %g g, %+.1f %% since the previous weighing (limit %g %%)',
            body_weight_g, bw_day_over_day_pct, " ~ var('bw_jump_pct') ~ "::double)"
    ) }}
from {{ ref('fct_animal_day') }}
where bw_jump_flag
{%- endmacro %}

{#- Nothing is measured on an animal after the day it was terminated (one finding per
    measurement, whatever it measured). -#}
{% macro dq_no_measurement_after_termination() -%}
select
    {{ dq_finding(
        'assert_no_measurement_after_termination', 'No measurement after termination',
        'm.study_id', 'm.animal_id', 'm.measurement_id', 'm.measured_on',
        "'measured after the animal was terminated on ' || strftime(a.terminated_at, '%Y-%m-%d')"
    ) }}
from (
    select distinct measurement_id, study_id, animal_id, measured_on
    from {{ ref('stg_invivo__measurement_values') }}
) as m
inner join {{ ref('stg_invivo__animals') }} as a on m.animal_id = a.animal_id
where a.terminated_at is not null and m.measured_on > a.terminated_at
{%- endmacro %}

{#- Every study with groups has exactly one control group (In Vivo allows one; TGI, ILS and every
    "vs control" column depend on it). -#}
{% macro dq_one_control_group_per_study() -%}
select
    {{ dq_finding(
        'assert_one_control_group_per_study', 'One control group per study',
        'study_id', 'null', 'null', 'null',
        "printf('%d control groups among %d groups (exactly one expected)',
            count(*) filter (where is_control), count(*))"
    ) }}
from {{ ref('stg_invivo__study_groups') }}
group by study_id
having count(*) filter (where is_control) <> 1
{%- endmacro %}

{#- Every termination reason in use is in seed_termination_reasons, so every terminated animal has
    a reason_class (event / censor / scheduled) for survival analysis. -#}
{% macro dq_termination_reasons_mapped() -%}
select
    {{ dq_finding(
        'assert_termination_reasons_mapped', 'Termination reason mapped',
        'a.study_id', 'a.animal_id', 'null', 'a.terminated_at',
        "coalesce('termination reason \"' || a.terminated_reason || '\" is not in seed_termination_reasons',
            'terminated without a reason')"
    ) }}
from {{ ref('stg_invivo__animals') }} as a
left join {{ ref('seed_termination_reasons') }} as r on a.terminated_reason = r.reason
where a.terminated_at is not null and r.reason is null
{%- endmacro %}

{#- The stored tumour volume equals the volume recomputed from the caliper length and width with
    the vol_formula var, within vol_recalc_tol_pct. -#}
{% macro dq_tumour_volume_matches_recalculation() -%}
select
    {{ dq_finding(
        'assert_tumour_volume_matches_recalculation', 'Tumour volume = calipers by the formula',
        'study_id', 'animal_id', 'tumour_measurement_id', 'measured_on',
        "printf('stored %g mm³, recomputed %g mm³ from L %g mm and W %g mm by "
            ~ var('vol_formula') ~ " (off by %.1f %%, tolerance %g %%)',
            tumor_volume_mm3, tumor_volume_recalc_mm3, length_mm, width_mm, vol_recalc_dev_pct, "
            ~ var('vol_recalc_tol_pct') ~ "::double)"
    ) }}
from {{ ref('fct_animal_day') }}
where tumor_volume_mm3 is not null
    and tumor_volume_recalc_mm3 is not null
    and abs(vol_recalc_dev_pct) > {{ var('vol_recalc_tol_pct') }}
{%- endmacro %}
