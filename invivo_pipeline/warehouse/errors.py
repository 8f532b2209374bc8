"""Errors the warehouse raises, so callers (assets, CLI) can tell data problems from contention."""

from __future__ import annotations

from invivo_pipeline.core.errors import FieldsSurvivePickling


class WarehouseError(Exception):
    """Base of every warehouse failure; the message is meant to be shown to a person as is."""


class WarehouseLoadError(WarehouseError):
    """A batch could not be loaded (bad value, wrong study, missing key); nothing was written."""


class RecordConversionError(FieldsSurvivePickling, WarehouseLoadError):
    """One record has a value its column cannot take: that record is set aside, not the load."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
        """The column and the value, without the table: a ``Reject``'s reason."""


class WarehouseLockedError(WarehouseError):
    """The DuckDB file stayed held by another writer longer than the configured wait."""


class WarehouseSchemaError(WarehouseError):
    """The file's tables disagree with the resource table in a way no automatic migration fixes."""
