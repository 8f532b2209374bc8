{#- In Vivo records a preset measurement at most once per animal and day: columns counting the
    records of one day must be at most 1. -#}
{% test at_most_one(model, column_name) %}

select *
from {{ model }}
where {{ column_name }} > 1

{% endtest %}
