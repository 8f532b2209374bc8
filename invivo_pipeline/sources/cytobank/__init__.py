"""Cytobank API v1: its table of resources, client, ingestion, Dagster assets, daily refresh and
simulator."""
