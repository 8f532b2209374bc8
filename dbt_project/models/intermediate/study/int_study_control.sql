-- One row per study with a control group: the control every "vs control" figure compares with.
-- In Vivo allows one control group per study; a tenant's records may have two (a finding of
-- assert_one_control_group_per_study). The marts are built anyway, against the control with the
-- lowest group number (then group id), so that no treated group is compared twice.
select
    study_id,
    first(group_id order by group_no nulls last, group_id) as control_group_id,
    count(*) as n_control_groups
from {{ ref('stg_invivo__study_groups') }}
where is_control
group by study_id
