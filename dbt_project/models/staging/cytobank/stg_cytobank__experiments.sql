select
    -- VARCHAR like every experiment_id of cytobank_raw (the partition key)
    cast(id as varchar) as experiment_id,
    experiment_name
from {{ source('cytobank_raw', 'experiments') }}
