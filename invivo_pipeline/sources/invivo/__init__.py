"""Benchling In Vivo: its table of resources, OAuth client, ingestion, Dagster assets and
automation, webhook receiver and simulator."""
