-- Every entity's metadata object as key/value rows. A group's treatment carries its own metadata
-- per group, so those rows also name the group in scope_id.
{%- set entities = [
    ('studies', 'study', 'null', 'id'),
    ('projects', 'project', 'null', 'null'),
    ('project_roles', 'project_role', 'null', 'null'),
    ('users', 'user', 'null', 'null'),
    ('cages', 'cage', 'null', 'study_id'),
    ('animals', 'animal', 'null', 'study_id'),
    ('study_groups', 'study_group', 'null', 'study_id'),
    ('treatments', 'treatment', 'null', 'study_id'),
    ('study_group_treatments', 'study_group_treatment', 'study_group_id', 'study_id'),
    ('samples', 'sample', 'null', 'study_id'),
] %}

with entries as (
    {%- for table, entity_type, scope_id, study_id in entities %}
    select
        '{{ entity_type }}' as entity_type,
        id as entity_id,
        cast({{ scope_id }} as varchar) as scope_id,
        cast({{ study_id }} as varchar) as study_id,
        metadata,
        unnest(json_keys(metadata)) as key
    from {{ source('invivo_raw', table) }}
    where json_type(metadata) = 'OBJECT'
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}
)

select
    entity_type,
    entity_id,
    key,
    metadata ->> key as value,
    metadata -> key as value_json,
    scope_id,
    study_id
from entries
