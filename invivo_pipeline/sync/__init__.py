"""Fetch → load: what one run of the pipeline does, without Dagster (the assets and the CLI call it)."""
