{#- The one definition of "on study", shared by every mart that counts animals on a date (census,
    group curves, samples, overview, the facts' on_study flag): an animal is on study from the day
    it was enrolled through the day it left, both included, or through the study's data cut-off
    while it has not left. The termination day counts: the animal was measured, dosed and sampled
    that day, and its terminal measurement is in the group curves, so it is also in their n.
    `animal` is an alias of a dim_animal row; `on_date` a DATE expression. -#}
{% macro on_study(animal, on_date) -%}
    ({{ on_date }} between {{ animal }}.enrolled_on and {{ animal }}.last_on_study_date)
{%- endmacro %}

{#- The same, for a study day (days since the animal's day 0) instead of a date. -#}
{% macro on_study_day(animal, study_day) -%}
    {{ on_study(animal, animal ~ '.day0_date + cast(' ~ study_day ~ ' as integer)') }}
{%- endmacro %}
