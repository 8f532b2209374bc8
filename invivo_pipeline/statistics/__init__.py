"""Pure numerical helpers for dbt Python models."""
