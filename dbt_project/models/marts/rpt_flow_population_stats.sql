-- Population statistics of the linked FCS files: one row per file and population, with the
-- animal, group and study day it belongs to, and the group's mean and n for that population,
-- sample type and day (so a plot by group and timepoint reads one table).
with stats as (
    select
        f.study_id,
        f.group_id,
        f.group_name,
        f.animal_id,
        f.animal_name,
        f.study_day,
        f.sample_type,
        f.fcs_file_id,
        f.filename,
        f.link_method,
        p.gate_set_id,
        p.population_name,
        p.event_count,
        p.pct_of_parent
    from {{ ref('fct_flow_sample') }} as f
    inner join {{ ref('int_population_stats_with_parents') }} as p
        on p.experiment_id = f.experiment_id and p.fcs_file_id = f.fcs_file_id
    where f.link_method <> 'unmatched'
)

select
    *,
    count(*) over w as group_n,
    avg(pct_of_parent) over w as group_mean_pct_of_parent,
    stddev_samp(pct_of_parent) over w as group_sd_pct_of_parent
from stats
window w as (partition by study_id, group_id, study_day, sample_type, gate_set_id)
