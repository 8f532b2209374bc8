"""The synthetic tenant: studies, groups, animals and their records, and how they advance."""
