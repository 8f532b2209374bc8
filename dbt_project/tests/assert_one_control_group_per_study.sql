-- Every study with groups has exactly one control group (In Vivo allows one; TGI, ILS and every
-- "vs control" column depend on it). Returns the offending studies.
{{ config(severity=var('domain_test_severity')) }}

select study_id, count(*) filter (where is_control) as n_control_groups
from {{ ref('stg_study_groups') }}
group by study_id
having count(*) filter (where is_control) <> 1
