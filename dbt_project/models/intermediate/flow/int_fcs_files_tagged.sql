-- One row per FCS file with its sample tags side by side (the TSV's long rows pivoted back) and
-- its experiment's name. Published as staging.stg_cytobank_fcs_files (_flow__models.yml).
with tags as (
    select
        experiment_id,
        fcs_filename,
        max(value) filter (where dimension = 'Individuals') as tag_individual,
        max(value) filter (where dimension = 'Sample Type') as tag_sample_type,
        max(value) filter (where dimension = 'Timepoints') as tag_timepoint,
        max(value) filter (where dimension = 'Sample ID') as tag_sample_id,
        max(value) filter (where dimension = 'FCS File Category') as file_category
    from {{ ref('stg_cytobank__sample_tags') }}
    group by experiment_id, fcs_filename
)

select
    f.fcs_file_id,
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
    f.filename_animal,
    f.filename_sample_type,
    f.filename_day
from {{ ref('stg_cytobank__fcs_files') }} as f
left join {{ ref('stg_cytobank__experiments') }} as e on e.experiment_id = f.experiment_id
left join tags as t on t.experiment_id = f.experiment_id and t.fcs_filename = f.filename
