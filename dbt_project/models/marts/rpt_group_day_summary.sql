-- Group curves: for each group, study day and metric, the observed summary statistics with n.
-- The observed mean is of the animals measured that day; a curve stops being plotted (plot_ok =
-- false) once fewer than min_n animals, or less than min_frac of the group's starting animals, are
-- still measured (low_retention_flag: the fraction alone). Beside it, an explicitly labelled
-- alternative: mean_locf, the last observation carried forward (every animal measured on or
-- before the day, at its latest value so far), which keeps the animals that left, often the
-- largest tumours, in the mean.
{%- set metrics = {
    'tumor_volume_mm3': 'v0',
    'rtv': 'v0',
    'body_weight_g': 'w0',
    'bw_pct_chg': 'w0',
} %}

with animals as (
    select * from {{ ref('dim_animal') }}
),

facts as (
    select f.*, a.v0
    from {{ ref('fct_animal_day') }} as f
    inner join animals as a on f.animal_id = a.animal_id
    where f.on_study
),

groups as (
    select * from {{ ref('stg_invivo__study_groups') }}
),

long as (
    {%- for metric in metrics %}
    select
        study_id, group_id, animal_id, study_day, '{{ metric }}' as metric, {{ metric }} as value, v0
    from facts
    where {{ metric }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

-- The geometric mean's shift (macros/geometric_mean.sql): geo_mean_shift_mm3 for volumes, the
-- same volume relative to the mean baseline of the group's animals measured that day for RTV, 0
-- for body weight (never zero; a non-positive weight makes the geometric mean NULL).
shifted as (
    select
        *,
        case metric
            when 'tumor_volume_mm3' then {{ var('geo_mean_shift_mm3') }}
            when 'rtv' then {{ var('geo_mean_shift_mm3') }}
                / avg(v0) over (partition by group_id, metric, study_day)
            else 0
        end as geo_shift
    from long
),

stats as (
    select
        study_id,
        group_id,
        metric,
        study_day,
        count(value) as n_measured,
        avg(value) as mean,
        stddev_samp(value) as sd,
        median(value) as median,
        case when metric <> 'bw_pct_chg' then {{ shifted_geometric_mean('value', 'geo_shift') }} end
            as geo_mean,
        min(value) as min,
        max(value) as max
    from shifted
    group by study_id, group_id, metric, study_day
),

-- Animals of the group still on study that day, and animals that started with a baseline.
on_study as (
    select
        s.group_id,
        s.metric,
        s.study_day,
        count(a.animal_id) filter (
            where {{ on_study_day('a', 's.study_day') }}
        ) as n_on_study
    from stats as s
    inner join animals as a on s.group_id = a.group_id
    group by s.group_id, s.metric, s.study_day
),

-- The carried-forward sum and count without pairing every animal with every day: each
-- measurement changes its group's sum by (this value − the animal's previous one) and its count by
-- 1 the first time, and a running total over the days gives both on each day of the curve (every
-- day of the curve has a measurement, hence a row here).
changes as (
    select
        group_id,
        metric,
        study_day,
        value - coalesce(lag(value) over by_animal, 0) as sum_change,
        case when lag(value) over by_animal is null then 1 else 0 end as count_change
    from long
    window by_animal as (partition by animal_id, metric order by study_day)
),

carried as (
    select
        group_id,
        metric,
        study_day,
        sum(sum(count_change)) over by_day as n_locf,
        sum(sum(sum_change)) over by_day / sum(sum(count_change)) over by_day as mean_locf
    from changes
    group by group_id, metric, study_day
    window by_day as (
        partition by group_id, metric order by study_day
        rows between unbounded preceding and current row
    )
),

starts as (
    {%- for metric, baseline in metrics.items() %}
    select group_id, '{{ metric }}' as metric, count({{ baseline }}) as n_start
    from animals
    group by group_id
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    s.study_id,
    s.group_id,
    g.group_name,
    g.is_control,
    s.study_day,
    s.metric,
    o.n_on_study,
    s.n_measured,
    st.n_start,
    s.mean,
    s.sd,
    s.sd / sqrt(s.n_measured) as sem,
    s.median,
    s.geo_mean,
    s.min,
    s.max,
    s.n_measured / nullif(st.n_start, 0) as frac_remaining,
    s.n_measured >= {{ var('min_n') }}
        and coalesce(s.n_measured / nullif(st.n_start, 0), 0) >= {{ var('min_frac') }} as plot_ok,
    coalesce(s.n_measured / nullif(st.n_start, 0), 0) < {{ var('min_frac') }} as low_retention_flag,
    l.n_locf,
    l.mean_locf
from stats as s
inner join groups as g on s.group_id = g.group_id
left join on_study as o
    on s.group_id = o.group_id and s.metric = o.metric and s.study_day = o.study_day
left join starts as st on s.group_id = st.group_id and s.metric = st.metric
left join carried as l
    on s.group_id = l.group_id and s.metric = l.metric and s.study_day = l.study_day
