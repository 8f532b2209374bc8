{#- The combination of columns is unique (the grain of a model). -#}
{% test unique_combination(model, combination) %}

select {{ combination | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1

{% endtest %}
