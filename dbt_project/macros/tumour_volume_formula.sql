{#- Tumour volume from caliper length and width (L >= W) by the vol_formula var. -#}
{% macro tumour_volume_formula(length, width) -%}
    {%- set formula = var('vol_formula') -%}
    {%- if formula == 'lw2_half' -%}
        ({{ length }} * {{ width }} * {{ width }} / 2.0)
    {%- elif formula == 'pi_lw2_6' -%}
        (pi() * {{ length }} * {{ width }} * {{ width }} / 6.0)
    {%- else -%}
        {{ exceptions.raise_compiler_error("vol_formula must be lw2_half or pi_lw2_6, not " ~ formula) }}
    {%- endif -%}
{%- endmacro %}
