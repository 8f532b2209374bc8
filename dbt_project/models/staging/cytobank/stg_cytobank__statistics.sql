select
    experiment_id,
    fcs_file_id,
    gate_set_id,
    event_count
from {{ source('cytobank_raw', 'statistics') }}
