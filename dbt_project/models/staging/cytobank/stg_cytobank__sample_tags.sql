-- One row per FCS file and tag dimension, as the sample tags TSV has them.
select
    experiment_id,
    fcs_filename,
    dimension,
    value
from {{ source('cytobank_raw', 'sample_tags') }}
