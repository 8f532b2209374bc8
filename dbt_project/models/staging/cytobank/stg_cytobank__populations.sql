select
    experiment_id,
    gate_set_id,
    name as population_name,
    cast(definition -> 'gates' as integer[]) as gates
from {{ source('cytobank_raw', 'populations') }}
