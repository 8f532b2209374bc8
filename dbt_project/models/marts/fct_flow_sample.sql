-- One row per Cytobank FCS file, linked to the In Vivo sample it was acquired from.
-- link_method: 'sample_tag' (the file's "Sample ID" tag is an In Vivo sample name), 'filename'
-- (no usable tag; <animal>_<type>_D<day>.fcs matches exactly one sample of that animal, type and
-- study day), or 'unmatched' (controls, typos): unmatched files are listed, never dropped.
with files as (
    select * from {{ ref('int_fcs_files_tagged') }}
),

samples as (
    select
        p.sample_id,
        p.sample_label,
        p.sample_type,
        a.study_id,
        a.animal_id,
        a.animal_name,
        a.group_id,
        a.group_name,
        {{ local_date('p.collected_at', 's.timezone') }} - a.day0_date as study_day
    from {{ ref('stg_invivo__samples') }} as p
    inner join {{ ref('dim_animal') }} as a on p.animal_id = a.animal_id
    inner join {{ ref('int_study_dates') }} as s on a.study_id = s.study_id
),

by_tag as (
    select f.fcs_file_id, s.sample_id
    from files as f
    inner join samples as s on s.sample_label = f.tag_sample_id
    qualify count(*) over (partition by f.fcs_file_id) = 1
),

by_filename as (
    select f.fcs_file_id, s.sample_id
    from files as f
    inner join samples as s
        on s.animal_name = f.filename_animal
        and lower(s.sample_type) = lower(f.filename_sample_type)
        and s.study_day = f.filename_day
    where f.fcs_file_id not in (select fcs_file_id from by_tag)
    qualify count(*) over (partition by f.fcs_file_id) = 1
),

links as (
    select fcs_file_id, sample_id, 'sample_tag' as link_method from by_tag
    union all
    select fcs_file_id, sample_id, 'filename' as link_method from by_filename
)

select
    f.fcs_file_id,
    f.experiment_id,
    f.experiment_name,
    f.filename,
    f.file_category,
    coalesce(l.link_method, 'unmatched') as link_method,
    s.sample_id,
    s.sample_label,
    s.sample_type,
    s.study_id,
    s.animal_id,
    s.animal_name,
    s.group_id,
    s.group_name,
    s.study_day,
    f.event_count
from files as f
left join links as l on l.fcs_file_id = f.fcs_file_id
left join samples as s on s.sample_id = l.sample_id
