{#- The one rule for zero and sub-resolution values in a geometric mean (tumour volume and RTV
    alike): the shifted geometric mean G = exp(mean ln(x + s)) − s, where the shift s is the var
    geo_mean_shift_mm3 in volume units (for RTV, that volume relative to the group's mean baseline:
    s = geo_mean_shift_mm3 / mean V0). A zero contributes ln s instead of being dropped (which
    biased the mean upwards) or floored (which made it depend on the floor more than on the data);
    a tumour far above s is unaffected. By the AM–GM inequality on x + s, G never exceeds the
    arithmetic mean of the same values; least() only removes the last bit of float rounding.
    NULL when a value is at or below −s (the filter only keeps ln() away from such values in groups
    whose mean is NULL anyway). `value` and `shift` are per-row expressions, the shift constant
    within the group. -#}
{% macro shifted_geometric_mean(value, shift) -%}
    case
        when min({{ value }} + {{ shift }}) > 0
            then least(
                exp(avg(ln({{ value }} + {{ shift }})) filter (where {{ value }} + {{ shift }} > 0))
                    - any_value({{ shift }}),
                avg({{ value }})
            )
    end
{%- endmacro %}
