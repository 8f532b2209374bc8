"""Per-study resources are partitioned by study id; the partitions are discovered, not declared.

Which ids can be keys, and how a run's studies become ranges of the registered order, is in
``invivo_pipeline.partition_keys``.
"""

import dagster as dg

STUDY_PARTITIONS_NAME = "study"
study_partitions = dg.DynamicPartitionsDefinition(name=STUDY_PARTITIONS_NAME)

CYTOBANK_EXPERIMENT_PARTITIONS_NAME = "cytobank_experiment"
cytobank_experiment_partitions = dg.DynamicPartitionsDefinition(
    name=CYTOBANK_EXPERIMENT_PARTITIONS_NAME
)
