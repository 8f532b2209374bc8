"""What every source shares and no source names: the resource spec, the HTTP requester and its
retries, limits, errors and metrics, record validation, and the pages (``Batch``) a client hands
the warehouse. Pure Python, no Dagster."""
