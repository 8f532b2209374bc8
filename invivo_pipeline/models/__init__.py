"""Typed shapes of the API's records (pydantic v2); no I/O here."""
