-- One row per FCS file with its sample tags side by side (the TSV's long rows pivoted back).
with tags as (
    select
        experiment_id,
        fcs_filename,
        max(value) filter (where dimension = 'Individuals') as tag_individual,
        max(value) filter (where dimension = 'Sample Type') as tag_sample_type,
        max(value) filter (where dimension = 'Timepoints') as tag_timepoint,
        max(value) filter (where dimension = 'Sample ID') as tag_sample_id,
        max(value) filter (where dimension = 'FCS File Category') as file_category
    from {{ source('cytobank_raw', 'sample_tags') }}
    group by experiment_id, fcs_filename
)

select
    f.id as fcs_file_id,
    f.experiment_id,
    e.experiment_name,
    f.filename,
    f.sample_name,
    f.event_count,
    t.tag_individual,
    t.tag_sample_type,
    t.tag_timepoint,
    t.tag_sample_id,
    t.file_category,
    -- <animal>_<sample type>_D<day>.fcs, the naming the cytometer operators use
    nullif(regexp_extract(f.filename, '^(.+)_([A-Za-z]+)_D(-?[0-9]+)\.fcs$', 1), '') as filename_animal,
    nullif(regexp_extract(f.filename, '^(.+)_([A-Za-z]+)_D(-?[0-9]+)\.fcs$', 2), '') as filename_sample_type,
    try_cast(
        nullif(regexp_extract(f.filename, '^(.+)_([A-Za-z]+)_D(-?[0-9]+)\.fcs$', 3), '') as integer
    ) as filename_day
from {{ source('cytobank_raw', 'fcs_files') }} as f
left join {{ source('cytobank_raw', 'experiments') }} as e on cast(e.id as varchar) = f.experiment_id
left join tags as t on t.experiment_id = f.experiment_id and t.fcs_filename = f.filename
