{#- A var holding a list of strings as a SQL list of literals: ('a', 'b'). -#}
{% macro sql_list(values) -%}
    ({%- for v in values -%}'{{ v | replace("'", "''") }}'{%- if not loop.last %}, {% endif -%}{%- endfor -%})
{%- endmacro %}
