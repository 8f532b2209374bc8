{#- Dosing compliance at a grain (per animal, per group): counts of dose events by status,
    compliance% = given / planned while alive (planned events minus those of the day the animal
    left), the cumulative realized dose and the mean and largest deviation from the plan. Planned
    means inside the treatment window and not a protocol holiday: the schedule's days after the
    window (off_treatment) and holidays are counted apart and never against compliance, and a
    dose given after the window is extra (an extra dose is never a planned one). -#}
{% macro dosing_compliance_rollup(grain) -%}
select
    {{ grain | join(', ') }},
    count(*) filter (
        where is_planned and status not in ('off_treatment', 'holiday', 'extra')
    ) as n_planned,
    count(*) filter (
        where is_planned and status not in ('off_treatment', 'holiday', 'extra', 'terminated')
    ) as n_planned_alive,
    count(*) filter (where status = 'given') as n_given,
    count(*) filter (where status = 'missed') as n_missed,
    count(*) filter (where status = 'held') as n_held,
    count(*) filter (where status = 'extra') as n_extra,
    count(*) filter (where status = 'off_schedule') as n_off_schedule,
    count(*) filter (where status = 'wrong_dose') as n_wrong_dose,
    100.0 * count(*) filter (where status = 'given')
        / nullif(count(*) filter (
            where is_planned and status not in ('off_treatment', 'holiday', 'extra', 'terminated')
        ), 0) as compliance_pct,
    sum(realized_d) as cumulative_realized_mg_kg,
    avg(abs(dose_dev_pct)) as mean_abs_dose_dev_pct,
    max(abs(dose_dev_pct)) as max_abs_dose_dev_pct,
    count(*) filter (where dv_over_route_max) as n_over_route_max,
    count(*) filter (where status = 'off_treatment') as n_off_treatment,
    count(*) filter (where status = 'holiday') as n_holiday
from {{ ref('rpt_dosing_compliance') }}
group by {{ grain | join(', ') }}
{%- endmacro %}
