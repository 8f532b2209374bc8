{#- A var holding a mapping {key: number} as an inline two-column relation for joins (no rows for
    an empty mapping). -#}
{% macro map_var_values(name, key_column, value_column) -%}
    {%- set mapping = var(name) -%}
    {%- if not mapping %}
    (select cast(null as varchar) as {{ key_column }}, cast(null as double) as {{ value_column }}
     where false)
    {%- else %}
    (select * from (values
        {%- for k, v in mapping.items() %}
        ('{{ k | replace("'", "''") }}', {{ v }}){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as t({{ key_column }}, {{ value_column }}))
    {%- endif %}
{%- endmacro %}

{#- A var holding a mapping {key: [integer, ...]} as an inline relation of one row per key and
    integer (no rows for an empty mapping); a value that is not a whole number stops the build. -#}
{% macro map_var_lists(name, key_column, value_column) -%}
    {%- set mapping = var(name) -%}
    {%- set pairs = [] -%}
    {%- for k, values in mapping.items() -%}
        {%- for v in values -%}
            {%- if v is not number or v != v | int -%}
                {{ exceptions.raise_compiler_error(name ~ "[" ~ k ~ "] must be a list of whole study days, not " ~ values) }}
            {%- endif -%}
            {%- do pairs.append((k, v | int)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not pairs %}
    (select cast(null as varchar) as {{ key_column }}, cast(null as integer) as {{ value_column }}
     where false)
    {%- else %}
    (select * from (values
        {%- for k, v in pairs %}
        ('{{ k | replace("'", "''") }}', {{ v }}){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as t({{ key_column }}, {{ value_column }}))
    {%- endif %}
{%- endmacro %}
