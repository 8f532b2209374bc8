select
    id as fcs_file_id,
    experiment_id,
    filename,
    sample_name,
    event_count,
    -- <animal>_<sample type>_D<day>.fcs, the naming the cytometer operators use
    nullif(regexp_extract(filename, '^(.+)_([A-Za-z]+)_D(-?[0-9]+)\.fcs$', 1), '') as filename_animal,
    nullif(regexp_extract(filename, '^(.+)_([A-Za-z]+)_D(-?[0-9]+)\.fcs$', 2), '') as filename_sample_type,
    try_cast(
        nullif(regexp_extract(filename, '^(.+)_([A-Za-z]+)_D(-?[0-9]+)\.fcs$', 3), '') as integer
    ) as filename_day
from {{ source('cytobank_raw', 'fcs_files') }}
