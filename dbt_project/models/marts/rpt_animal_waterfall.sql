-- The waterfall plot's rows: one per animal with tumour measurements in the window in a study
-- with an evaluation day, its best response up to that day and its mRECIST class. Best response
-- is mRECIST's: the lowest % change of volume from baseline from day mrecist_min_day (the first
-- days are caliper noise and oedema, not response) to the evaluation day, or from day 1 when the
-- evaluation day comes earlier. An animal that left before the evaluation day keeps its best
-- response while on study.
with points as (
    select f.animal_id, f.study_id, f.group_id, f.study_day, f.pct_dv
    from {{ ref('fct_animal_day') }} as f
    inner join {{ ref('int_study_eval_day') }} as e on f.study_id = e.study_id
    where f.on_study and f.pct_dv is not null and f.study_day <= e.eval_day
        and f.study_day >= case
            when e.eval_day >= {{ var('mrecist_min_day') }} then {{ var('mrecist_min_day') }}
            else 1
        end
),

best as (
    select
        animal_id,
        any_value(study_id) as study_id,
        any_value(group_id) as group_id,
        min(pct_dv) as best_pct_change,
        arg_min(study_day, pct_dv) as best_response_day
    from points
    group by animal_id
)

select
    b.study_id,
    b.group_id,
    b.animal_id,
    a.animal_name,
    e.eval_day,
    b.best_pct_change,
    b.best_response_day,
    r.mrecist
from best as b
inner join {{ ref('dim_animal') }} as a on b.animal_id = a.animal_id
inner join {{ ref('int_study_eval_day') }} as e on b.study_id = e.study_id
left join {{ ref('rpt_animal_tumor_response') }} as r on b.animal_id = r.animal_id
