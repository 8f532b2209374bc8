"""The Python side of the dbt project's incremental builds: which studies a build rebuilds
(``scope``). Pure Python over a DuckDB connection, read by the dbt asset and by the project's
Python models alike; the models' statistics are in ``invivo_pipeline.statistics``."""
