-- One row per study with a control group: the evaluation day TGI, %T/C and the rate-based T/C
-- are read on, and the rule that chose it. Means at a day where many animals have left describe
-- the survivors (the largest tumours leave first), so the day is the last one on which the groups
-- are still complete enough (min_n animals measured and min_frac of those that started):
--   eval_day_retention = all_groups: every group of the study that ever meets the cut-off meets
--     it that day (treated groups that lose animals to toxicity or tumour burden included);
--   eval_day_retention = control: the control alone does (the convention of
--     docs/reporting-specification.md §4, which ignores
--     the treated groups' retention).
-- With all_groups, a study where no day after day 0 satisfies every group falls back to the
-- control's day (eval_day_rule says so). A study day in the var eval_day overrides both.
{%- if var('eval_day_retention') not in ['all_groups', 'control'] %}
    {{ exceptions.raise_compiler_error("eval_day_retention must be all_groups or control, not " ~ var('eval_day_retention')) }}
{%- endif %}

with volume as (
    select group_id, study_day, plot_ok
    from {{ ref('rpt_group_day_summary') }}
    where metric = 'tumor_volume_mm3' and study_day >= 0
),

groups as (
    select group_id, study_id from {{ ref('stg_invivo__study_groups') }}
),

controls as (
    select study_id, control_group_id from {{ ref('int_study_control') }}
),

-- The groups the rule holds to: those that meet the cut-off on some day (a group too small ever
-- to be plotted cannot hold the study's evaluation back).
counted as (
    select g.study_id, v.group_id
    from volume as v
    inner join groups as g on v.group_id = g.group_id
    group by g.study_id, v.group_id
    having bool_or(v.plot_ok)
),

group_count as (
    select study_id, count(*) as n_groups from counted group by study_id
),

days_all_ok as (
    select c.study_id, v.study_day
    from counted as c
    inner join volume as v on c.group_id = v.group_id and v.plot_ok
    group by c.study_id, v.study_day
    having count(*) = (select n_groups from group_count as n where n.study_id = c.study_id)
),

by_rule as (
    select
        c.study_id,
        (
            select max(v.study_day) from volume as v
            where v.group_id = c.control_group_id and v.plot_ok
        ) as control_eval_day,
        (
            select max(d.study_day) from days_all_ok as d
            where d.study_id = c.study_id and d.study_day > 0
        ) as all_groups_eval_day
    from controls as c
)

select
    study_id,
    {%- if var('eval_day') != 'auto' %}
    {{ var('eval_day') }} as eval_day,
    'eval_day var' as eval_day_rule,
    {%- elif var('eval_day_retention') == 'all_groups' %}
    coalesce(all_groups_eval_day, control_eval_day) as eval_day,
    case
        when all_groups_eval_day is not null then 'all groups retained'
        when control_eval_day is not null then 'control retained (fallback: no day after day 0 '
            || 'retains every group)'
    end as eval_day_rule,
    {%- else %}
    control_eval_day as eval_day,
    case when control_eval_day is not null then 'control retained' end as eval_day_rule,
    {%- endif %}
    control_eval_day,
    all_groups_eval_day
from by_rule
