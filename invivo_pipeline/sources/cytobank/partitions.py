"""Per-experiment Cytobank resources are partitioned by experiment id, discovered by listing."""

import dagster as dg

CYTOBANK_EXPERIMENT_PARTITIONS_NAME = "cytobank_experiment"
cytobank_experiment_partitions = dg.DynamicPartitionsDefinition(
    name=CYTOBANK_EXPERIMENT_PARTITIONS_NAME
)
