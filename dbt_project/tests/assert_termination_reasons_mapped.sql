-- Every termination reason in use is in seed_termination_reasons, so every terminated animal has a
-- reason_class (event / censor / scheduled) for survival analysis.
{{ config(severity=var('domain_test_severity'), meta={'dagster': {'ref': {'name': 'stg_animals'}}}) }}

select a.terminated_reason, count(*) as n_animals
from {{ ref('stg_animals') }} as a
left join {{ ref('seed_termination_reasons') }} as r on a.terminated_reason = r.reason
where a.terminated_at is not null and r.reason is null
group by a.terminated_reason
