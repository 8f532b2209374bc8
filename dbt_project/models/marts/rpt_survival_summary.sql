-- Per group and endpoint: animals, events, Kaplan–Meier median (smallest time with S <= 0.5, NULL
-- if not reached) with its confidence interval, the increase in life span against the control
-- (ILS% = 100·(MST_T − MST_C)/MST_C, %T/C = 100·MST_T/MST_C) and the log-rank test and hazard
-- ratio against the control from int_survival_vs_control (Firth-penalised where the Cox fit has no
-- estimate: hr_method). The conventions are columns, so a reader of any row knows them: how the
-- median is read off the curve (R's survival package takes the midpoint of a flat S = 0.5
-- stretch instead, which can move ILS by several points) and what is an event or censored for
-- the endpoint (the termination reasons from seed_termination_reasons).
with tte as (
    select * from {{ ref('fct_animal_time_to_event') }}
    where time_days is not null
),

km as (
    select * from {{ ref('rpt_km_curve') }}
),

groups as (
    select * from {{ ref('stg_invivo__study_groups') }}
),

controls as (
    select study_id, control_group_id
    from {{ ref('int_study_control') }}
),

counts as (
    select study_id, group_id, endpoint_type, count(*) as n, sum(event) as events
    from tte
    group by study_id, group_id, endpoint_type
),

medians as (
    select
        group_id,
        endpoint_type,
        -- A hair of tolerance: S = 3/4 · 2/3 must count as 0.5 whatever the rounding.
        min(event_time) filter (where surv <= 0.5 + 1e-12) as median_days,
        min(event_time) filter (where ci_lo <= 0.5 + 1e-12) as median_ci_lo,
        min(event_time) filter (where ci_hi <= 0.5 + 1e-12) as median_ci_hi
    from km
    group by group_id, endpoint_type
),

reasons as (
    select
        string_agg(reason, ', ' order by reason) filter (where reason_class = 'event')
            as event_reasons,
        string_agg(reason, ', ' order by reason) filter (where reason_class <> 'event')
            as censor_reasons
    from {{ ref('seed_termination_reasons') }}
),

conventions as (
    select
        endpoint_type,
        event_definition,
        censor_definition
    from (values
        (
            'overall',
            'death or euthanasia for a humane endpoint (termination reason: '
                || (select event_reasons from reasons) || ')',
            'left the study for any other reason ('
                || (select censor_reasons from reasons)
                || ', or a reason not in seed_termination_reasons), or on study at the data cut-off'
        ),
        (
            'tumor_volume',
            {%- if var('tte_method') == 'interp' %}
            'tumour volume reaching {{ var("tumor_endpoint_mm3") }} mm³, its day interpolated on ln V '
                || 'between the bracketing measurements',
            {%- else %}
            'first measurement with tumour volume >= {{ var("tumor_endpoint_mm3") }} mm³',
            {%- endif %}
            'at the last tumour measurement, whatever ended the animal (a death of another cause '
                || 'is censored)'
        ),
        (
            'bw_loss',
            'first weighing with body-weight loss >= {{ var("bw_endpoint_pct") }} % from day 0',
            'at the last weighing, whatever ended the animal'
        ),
        (
            'tfs',
            'first measurement with tumour volume > {{ var("tfs_detection_mm3") }} mm³ (animals '
                || 'tumour-free at baseline only)',
            'at the last tumour measurement'
        )
    ) as t(endpoint_type, event_definition, censor_definition)
),

summary as (
    select
        c.study_id,
        c.group_id,
        g.group_name,
        g.is_control,
        c.endpoint_type,
        c.n,
        cast(c.events as integer) as events,
        m.median_days,
        m.median_ci_lo,
        m.median_ci_hi,
        k.control_group_id,
        cm.median_days as control_median_days
    from counts as c
    inner join groups as g on c.group_id = g.group_id
    left join medians as m on c.group_id = m.group_id and c.endpoint_type = m.endpoint_type
    left join controls as k on c.study_id = k.study_id
    left join medians as cm
        on k.control_group_id = cm.group_id and c.endpoint_type = cm.endpoint_type
)

select
    s.study_id,
    s.group_id,
    s.group_name,
    s.is_control,
    s.endpoint_type,
    s.n,
    s.events,
    s.median_days,
    s.median_ci_lo,
    s.median_ci_hi,
    s.control_group_id,
    s.control_median_days,
    case when not s.is_control then
        100.0 * (s.median_days - s.control_median_days) / nullif(s.control_median_days, 0)
    end as ils_pct,
    case when not s.is_control then
        100.0 * s.median_days / nullif(s.control_median_days, 0)
    end as pct_t_over_c_surv,
    case when not s.is_control then
        100.0 * s.median_days / nullif(s.control_median_days, 0)
            >= {{ var('nci_surv_active_tc_pct') }}
    end as surv_active_flag,
    t.logrank_chi2,
    t.logrank_p,
    t.logrank_p_adj,
    t.hr,
    t.hr_ci_lo,
    t.hr_ci_hi,
    t.hr_method,
    'smallest t with S(t) <= 0.5 (NULL if not reached); CI: smallest t whose log-log bound <= 0.5'
        as median_method,
    c.event_definition,
    c.censor_definition
from summary as s
left join {{ ref('int_survival_vs_control') }} as t
    on s.group_id = t.group_id and s.endpoint_type = t.endpoint_type
left join conventions as c on s.endpoint_type = c.endpoint_type
