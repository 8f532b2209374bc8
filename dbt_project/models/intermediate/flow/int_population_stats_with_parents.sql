-- One row per FCS file and population: its event count and its share of the parent population
-- (the population whose gates are this one's minus one), from the statistics endpoint. Published as
-- staging.stg_cytobank_population_stats (_flow__models.yml).
with populations as (
    select * from {{ ref('stg_cytobank__populations') }}
),

parents as (
    select c.experiment_id, c.gate_set_id, p.gate_set_id as parent_gate_set_id
    from populations as c
    inner join populations as p
        on c.experiment_id = p.experiment_id
        and len(p.gates) = len(c.gates) - 1
        and list_has_all(c.gates, p.gates)
),

stats as (
    select * from {{ ref('stg_cytobank__statistics') }}
)

select
    s.experiment_id,
    s.fcs_file_id,
    s.gate_set_id,
    p.population_name,
    s.event_count,
    pa.parent_gate_set_id,
    ps.event_count as parent_event_count,
    100.0 * s.event_count / nullif(ps.event_count, 0) as pct_of_parent
from stats as s
left join populations as p on p.experiment_id = s.experiment_id and p.gate_set_id = s.gate_set_id
left join parents as pa on pa.experiment_id = s.experiment_id and pa.gate_set_id = s.gate_set_id
left join stats as ps
    on ps.experiment_id = s.experiment_id
    and ps.fcs_file_id = s.fcs_file_id
    and ps.gate_set_id = pa.parent_gate_set_id
