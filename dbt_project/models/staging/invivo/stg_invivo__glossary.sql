select
    id as glossary_id,
    title,
    "group" as glossary_group
from {{ source('invivo_raw', 'glossary') }}
