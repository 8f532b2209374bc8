"""In Vivo webhooks in: a FastAPI receiver and a durable, idempotent event store (no Dagster).

``app`` authenticates and validates one event per request and stores it (``store``, SQLite in
WAL mode, so it never contends with the DuckDB writer); ``targets`` says which study partition or
global tables an event concerns; ``server`` runs the receiver (``invivo webhooks serve``). The
Dagster sensor in ``invivo_pipeline.automation`` reads the store with a cursor.
"""
