{#- A var holding a mapping {key: number} as an inline two-column relation for joins. -#}
{% macro map_var_values(name, key_column, value_column) -%}
    {%- set mapping = var(name) -%}
    (select * from (values
        {%- for k, v in mapping.items() %}
        ('{{ k | replace("'", "''") }}', {{ v }}){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as t({{ key_column }}, {{ value_column }}))
{%- endmacro %}
