"""Building blocks shared by every In Vivo record model.

The API evolves by adding fields, so every model keeps unknown fields (``extra="allow"``) and the
warehouse stores the whole record; what the models are strict about is the small set of fields the
warehouse and the reports rely on: ids, timestamps, dates and the numeric strings.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


def parses_as_decimal(value: str) -> str:
    """The API sends numbers as strings ("3.03"); a string that is not a number is a data error."""
    try:
        Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a numeric string: {value!r}") from None
    if not Decimal(value).is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return value


def number_as_text(value: Any) -> Any:
    """A number sent as a JSON number where the reference sends a string is tolerated: the record
    is stored as sent, and the value reads as the number's text. Booleans stay refused."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return value


NumericString = Annotated[str, BeforeValidator(number_as_text), AfterValidator(parses_as_decimal)]
"""A number sent as a JSON string (or, tolerated, as a JSON number); checked to parse."""


class ApiModel(BaseModel):
    """Base of every API shape: unknown fields are kept, known ones are typed."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())


class Ref(ApiModel):
    """An embedded object the warehouse replaces by its id (study, animal, user, cage, ...).

    A null ``id`` is "no link" (a dose given without a weighing sends ``"measurement": {"id":
    null, ...}``), as a null object is: the ``*_id`` column is NULL, the record loads.
    """

    id: str | None


class Quantity(ApiModel):
    """A value with its unit, as dosages and treatments carry them (dose, stock, volume, ...)."""

    unit: str | None = None
    value: NumericString | None = None
    display_unit: str | None = None
    display_value: str | None = None


class Timestamped(ApiModel):
    created_at: datetime | None = None
    updated_at: datetime | None = None


Metadata = dict[str, Any]
DateField = date
