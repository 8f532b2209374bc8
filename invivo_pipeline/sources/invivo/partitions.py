"""Per-study resources are partitioned by study id; the partitions are discovered, not declared.

Which ids can be keys, and how a run's studies become ranges of the registered order, is in
``core.partition_keys`` and ``assets.partition_runs``.
"""

import dagster as dg

STUDY_PARTITIONS_NAME = "study"
study_partitions = dg.DynamicPartitionsDefinition(name=STUDY_PARTITIONS_NAME)
