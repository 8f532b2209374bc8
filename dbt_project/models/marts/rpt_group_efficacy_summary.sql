-- One row per group (treated groups compared with their study's control): growth rates and the
-- rate-based T/C, TGI on the evaluation day, tumour growth delay and log cell kill, and counts of
-- responders and deaths. Control-relative columns are NULL for the control group itself.
--   rate_based_tc = 10^((μ̄_T − μ̄_C)·t_end), μ = per-animal OLS slope of log10 V, t_end = eval day
--   tgd_days = T − C with T, C the Kaplan–Meier median days to tumor_endpoint_mm3
--   lck_gross = TGD / (3.32·Td_C), Td_C = ln 2 / mean control growth rate (ln V per day);
--   lck_net = (TGD − treatment_days) / (3.32·Td_C); 3.32 = 1 / log10 2
with responses as (
    select * from {{ ref('rpt_animal_tumor_response') }}
),

animals as (
    select * from {{ ref('dim_animal') }}
),

groups as (
    select * from {{ ref('stg_invivo__study_groups') }}
),

controls as (
    select study_id, control_group_id
    from {{ ref('int_study_control') }}
),

growth as (
    select
        group_id,
        count(*) as n_with_tumour_data,
        count(growth_rate_ln) as n_evaluable,
        avg(growth_rate_ln) as mean_growth_rate_ln,
        stddev_samp(growth_rate_ln) / sqrt(count(growth_rate_ln)) as sem_growth_rate_ln,
        avg(log10_slope) as mean_log10_slope,
        stddev_samp(log10_slope) / sqrt(count(log10_slope)) as sem_log10_slope,
        count(*) filter (where pr_flag) as n_pr,
        count(*) filter (where cr_flag) as n_cr,
        count(*) filter (where tfs_flag) as n_tfs,
        count(*) filter (where eos_cr_flag) as n_eos_cr,
        count(*) filter (where pr_flag or cr_flag) as n_responders,
        count(*) filter (where mrecist = 'CR') as n_mrecist_cr,
        count(*) filter (where mrecist = 'PR') as n_mrecist_pr,
        count(*) filter (where mrecist = 'SD') as n_mrecist_sd,
        count(*) filter (where mrecist = 'PD') as n_mrecist_pd
    from responses
    group by group_id
),

evaluation as (
    select group_id, study_day as eval_day, tgi_delta_pct, tgi_ratio_pct, tgi_rtv_pct,
        tgi_auc_pct, pct_t_over_c, tgi_delta_pct_locf, pct_t_over_c_locf, low_retention_flag
    from {{ ref('rpt_tgi_by_day') }}
    where is_eval_day
),

study_eval_days as (
    select study_id, max(study_day) as eval_day, any_value(eval_day_rule) as eval_day_rule
    from {{ ref('rpt_tgi_by_day') }}
    where is_eval_day
    group by study_id
),

endpoint_medians as (
    select group_id, median_days
    from {{ ref('rpt_survival_summary') }}
    where endpoint_type = 'tumor_volume'
),

treatment_spans as (
    select group_id, max(study_day) - min(study_day) + 1 as treatment_days
    from {{ ref('rpt_dosing_compliance') }}
    where dosage_id is not null
    group by group_id
),

deaths as (
    select
        a.group_id,
        count(*) as n_animals,
        count(*) filter (
            where a.reason_class = 'event' and a.reason_is_presumed_treatment_related
                and not a.is_control
        ) as n_tr_deaths,
        count(*) filter (
            where a.reason_class = 'event' and not a.reason_is_tumour_related
                and not (a.reason_is_presumed_treatment_related and not a.is_control)
        ) as n_ntr_deaths
    from animals as a
    group by a.group_id
),

combined as (
    select
        g.study_id,
        g.group_id,
        g.group_name,
        g.is_control,
        k.control_group_id,
        coalesce(d.n_animals, 0) as n_animals,
        coalesce(gr.n_with_tumour_data, 0) as n_with_tumour_data,
        coalesce(gr.n_evaluable, 0) as n_evaluable,
        gr.mean_growth_rate_ln,
        gr.sem_growth_rate_ln,
        gr.mean_log10_slope,
        gr.sem_log10_slope,
        cg.mean_growth_rate_ln as control_mean_growth_rate_ln,
        cg.mean_log10_slope as control_mean_log10_slope,
        se.eval_day,
        ev.tgi_delta_pct as tgi_delta_pct_eval_day,
        ev.tgi_ratio_pct as tgi_ratio_pct_eval_day,
        ev.tgi_rtv_pct as tgi_rtv_pct_eval_day,
        ev.tgi_auc_pct as tgi_auc_pct_eval_day,
        ev.pct_t_over_c as pct_t_over_c_eval_day,
        se.eval_day_rule,
        ev.tgi_delta_pct_locf as tgi_delta_pct_eval_day_locf,
        ev.pct_t_over_c_locf as pct_t_over_c_eval_day_locf,
        ev.low_retention_flag as low_retention_eval_day,
        em.median_days as median_tte_days,
        cm.median_days as control_median_tte_days,
        case when cg.mean_growth_rate_ln > 0 then ln(2) / cg.mean_growth_rate_ln end
            as control_doubling_time_d,
        ts.treatment_days,
        coalesce(gr.n_pr, 0) as n_pr,
        coalesce(gr.n_cr, 0) as n_cr,
        coalesce(gr.n_tfs, 0) as n_tfs,
        coalesce(gr.n_eos_cr, 0) as n_eos_cr,
        coalesce(gr.n_responders, 0) as n_responders,
        coalesce(gr.n_mrecist_cr, 0) as n_mrecist_cr,
        coalesce(gr.n_mrecist_pr, 0) as n_mrecist_pr,
        coalesce(gr.n_mrecist_sd, 0) as n_mrecist_sd,
        coalesce(gr.n_mrecist_pd, 0) as n_mrecist_pd,
        coalesce(d.n_tr_deaths, 0) as n_tr_deaths,
        coalesce(d.n_ntr_deaths, 0) as n_ntr_deaths
    from groups as g
    left join controls as k on g.study_id = k.study_id
    left join growth as gr on g.group_id = gr.group_id
    left join growth as cg on k.control_group_id = cg.group_id
    left join evaluation as ev on g.group_id = ev.group_id
    left join study_eval_days as se on g.study_id = se.study_id
    left join endpoint_medians as em on g.group_id = em.group_id
    left join endpoint_medians as cm on k.control_group_id = cm.group_id
    left join treatment_spans as ts on g.group_id = ts.group_id
    left join deaths as d on g.group_id = d.group_id
),

delays as (
    select
        *,
        case when not is_control then median_tte_days - control_median_tte_days end as tgd_days
    from combined
)

select
    study_id,
    group_id,
    group_name,
    is_control,
    control_group_id,
    n_animals,
    n_with_tumour_data,
    n_evaluable,
    mean_growth_rate_ln,
    sem_growth_rate_ln,
    mean_log10_slope,
    sem_log10_slope,
    control_mean_log10_slope,
    eval_day,
    case when not is_control then
        power(10, (mean_log10_slope - control_mean_log10_slope) * eval_day)
    end as rate_based_tc,
    tgi_delta_pct_eval_day,
    tgi_ratio_pct_eval_day,
    tgi_rtv_pct_eval_day,
    tgi_auc_pct_eval_day,
    pct_t_over_c_eval_day,
    median_tte_days,
    control_median_tte_days,
    tgd_days,
    100.0 * tgd_days / nullif(control_median_tte_days, 0) as pct_tgd,
    case when not is_control then median_tte_days / nullif(control_median_tte_days, 0) end
        as gd_index,
    control_doubling_time_d,
    treatment_days,
    tgd_days / ((1 / log10(2)) * control_doubling_time_d) as lck_gross,
    (tgd_days - treatment_days) / ((1 / log10(2)) * control_doubling_time_d) as lck_net,
    n_pr,
    n_cr,
    n_tfs,
    n_eos_cr,
    n_mrecist_cr,
    n_mrecist_pr,
    n_mrecist_sd,
    n_mrecist_pd,
    100.0 * n_responders / nullif(n_with_tumour_data, 0) as orr_pct,
    n_tr_deaths,
    n_ntr_deaths,
    eval_day_rule,
    tgi_delta_pct_eval_day_locf,
    pct_t_over_c_eval_day_locf,
    low_retention_eval_day
from delays
