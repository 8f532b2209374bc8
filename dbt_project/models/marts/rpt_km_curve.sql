-- Kaplan–Meier estimate per group and endpoint at each distinct time an animal had an event or was
-- censored: S(t) = Π (1 − d/n), Greenwood standard error and a log-log confidence interval.
-- S is 1 before the first row's time.
with tte as (
    select * from {{ ref('fct_animal_time_to_event') }}
    where time_days is not null
),

times as (
    select
        study_id,
        group_id,
        endpoint_type,
        time_days as event_time,
        sum(event) as n_event,
        count(*) - sum(event) as n_censor,
        count(*) as n_leaving
    from tte
    group by study_id, group_id, endpoint_type, time_days
),

at_risk as (
    select
        *,
        sum(n_leaving) over (
            partition by group_id, endpoint_type order by event_time desc
            rows between unbounded preceding and current row
        ) as n_at_risk
    from times
),

steps as (
    select
        *,
        1 - cast(n_event as double) / n_at_risk as step_factor,
        case
            when n_event < n_at_risk then cast(n_event as double) / (n_at_risk * (n_at_risk - n_event))
            else 0
        end as greenwood_term
    from at_risk
),

estimates as (
    select
        *,
        product(step_factor) over running as surv,
        sum(greenwood_term) over running as greenwood_sum
    from steps
    window running as (
        partition by group_id, endpoint_type order by event_time
        rows between unbounded preceding and current row
    )
)

select
    study_id,
    group_id,
    endpoint_type,
    event_time,
    cast(n_at_risk as integer) as n_at_risk,
    cast(n_event as integer) as n_event,
    cast(n_censor as integer) as n_censor,
    surv,
    surv * sqrt(greenwood_sum) as se_greenwood,
    case
        when surv <= 0 then 0.0
        when surv >= 1 then 1.0
        else power(surv, exp({{ var('km_ci_z') }} * sqrt(greenwood_sum) / abs(ln(surv))))
    end as ci_lo,
    case
        when surv <= 0 then 0.0
        when surv >= 1 then 1.0
        else power(surv, exp(-{{ var('km_ci_z') }} * sqrt(greenwood_sum) / abs(ln(surv))))
    end as ci_hi
from estimates
