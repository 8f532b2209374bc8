"""The Cytobank API v1 client: pure async Python (httpx), no Dagster, driven by ``cytobank_table``."""

from invivo_pipeline.client.cytobank.client import CytobankClient
from invivo_pipeline.client.cytobank.config import CytobankConfig, cytobank_configured
from invivo_pipeline.client.cytobank.sample_tags import parse_sample_tags

__all__ = ["CytobankClient", "CytobankConfig", "cytobank_configured", "parse_sample_tags"]
