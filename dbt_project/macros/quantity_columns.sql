{#- An API quantity {unit, value, display_unit, display_value} as typed columns: the numeric
    string cast to DOUBLE (NULL when it is not a number), the string as sent, and the unit. -#}
{% macro quantity_columns(column, prefix) -%}
    try_cast({{ column }} ->> 'value' as double) as {{ prefix }}_value,
    {{ column }} ->> 'value' as {{ prefix }}_value_text,
    {{ column }} ->> 'unit' as {{ prefix }}_unit
{%- endmacro %}
