{#- The calendar date of a TIMESTAMPTZ in a study's time zone (UTC when the study has none), so
    that a dose given at 23:30 in California counts for that Californian day. -#}
{% macro local_date(ts, tz) -%}
    cast(timezone(coalesce({{ tz }}, 'UTC'), {{ ts }}) as date)
{%- endmacro %}
