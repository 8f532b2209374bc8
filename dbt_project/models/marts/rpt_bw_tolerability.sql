-- Body-weight tolerability per group and study day (mean ± SEM of BW% change and animals past
-- each loss threshold), with group-level columns repeated on every row: the largest group-mean
-- loss over the days the group still has min_n animals, its day, animals that ever crossed each
-- threshold, treatment-related deaths and tolerated_flag = max mean loss < bw_endpoint_pct and no
-- death or moribund removal in a dosed (non-control) group: any termination of class event not
-- caused by the tumour (found dead, moribund, body-weight loss). A found-dead animal in a dosed
-- group may well have died of the drug; "unexplained" is not "not treatment related".
-- max_mean_loss_pct_locf is the same largest loss on last-observation-carried-forward means: the
-- animals removed for weight loss keep their last weight in the mean instead of leaving it.
with curve as (
    select * from {{ ref('rpt_group_day_summary') }}
    where metric = 'bw_pct_chg'
),

facts as (
    select * from {{ ref('fct_animal_day') }}
    where on_study and bw_pct_chg is not null
),

daily_counts as (
    select
        group_id,
        study_day,
        count(*) filter (where bw_pct_chg <= -{{ var('bw_mild_pct') }}) as n_ge_mild,
        count(*) filter (where bw_pct_chg <= -{{ var('bw_alert_pct') }}) as n_ge_alert,
        count(*) filter (where bw_pct_chg <= -{{ var('bw_endpoint_pct') }}) as n_ge_endpoint
    from facts
    group by group_id, study_day
),

nadirs as (
    select group_id, animal_id, min(bw_pct_chg) as nadir_pct_chg
    from facts
    group by group_id, animal_id
),

ever as (
    select
        group_id,
        count(*) filter (where nadir_pct_chg <= -{{ var('bw_mild_pct') }}) as n_ever_ge_mild,
        count(*) filter (where nadir_pct_chg <= -{{ var('bw_alert_pct') }}) as n_ever_ge_alert,
        count(*) filter (where nadir_pct_chg <= -{{ var('bw_endpoint_pct') }}) as n_ever_ge_endpoint
    from nadirs
    group by group_id
),

worst as (
    select
        group_id,
        max(-mean) as max_mean_loss_raw,
        arg_max(study_day, -mean) as day_of_max_loss
    from curve
    where n_measured >= {{ var('min_n') }}
    group by group_id
),

worst_locf as (
    select
        group_id,
        max(-mean_locf) as max_mean_loss_locf_raw,
        arg_max(study_day, -mean_locf) as day_of_max_loss_locf
    from curve
    group by group_id
),

deaths as (
    select
        group_id,
        count(*) filter (
            where reason_class = 'event' and reason_is_presumed_treatment_related and not is_control
        ) as tr_deaths,
        count(*) filter (
            where reason_class = 'event' and not reason_is_tumour_related and not is_control
        ) as dosed_group_deaths
    from {{ ref('dim_animal') }}
    group by group_id
),

group_level as (
    select
        c.group_id,
        case when w.max_mean_loss_raw > 0 then w.max_mean_loss_raw else 0.0 end as max_mean_loss_pct,
        w.day_of_max_loss,
        coalesce(e.n_ever_ge_mild, 0) as n_ever_ge_mild,
        coalesce(e.n_ever_ge_alert, 0) as n_ever_ge_alert,
        coalesce(e.n_ever_ge_endpoint, 0) as n_ever_ge_endpoint,
        coalesce(d.tr_deaths, 0) as tr_deaths,
        coalesce(d.dosed_group_deaths, 0) as dosed_group_deaths,
        case when wl.max_mean_loss_locf_raw > 0 then wl.max_mean_loss_locf_raw else 0.0 end
            as max_mean_loss_pct_locf,
        wl.day_of_max_loss_locf
    from (select distinct group_id from curve) as c
    left join worst as w on c.group_id = w.group_id
    left join worst_locf as wl on c.group_id = wl.group_id
    left join ever as e on c.group_id = e.group_id
    left join deaths as d on c.group_id = d.group_id
)

select
    c.study_id,
    c.group_id,
    c.group_name,
    c.is_control,
    c.study_day,
    c.n_measured as n,
    c.mean as mean_bw_pct_chg,
    c.sem as sem_bw_pct_chg,
    c.plot_ok,
    dc.n_ge_mild,
    dc.n_ge_alert,
    dc.n_ge_endpoint,
    g.max_mean_loss_pct,
    g.day_of_max_loss,
    g.n_ever_ge_mild,
    g.n_ever_ge_alert,
    g.n_ever_ge_endpoint,
    g.tr_deaths,
    coalesce(g.max_mean_loss_pct, 0) < {{ var('bw_endpoint_pct') }} and g.dosed_group_deaths = 0
        as tolerated_flag,
    c.mean_locf as mean_bw_pct_chg_locf,
    g.max_mean_loss_pct_locf,
    g.day_of_max_loss_locf,
    g.dosed_group_deaths
from curve as c
left join daily_counts as dc on c.group_id = dc.group_id and c.study_day = dc.study_day
left join group_level as g on c.group_id = g.group_id
