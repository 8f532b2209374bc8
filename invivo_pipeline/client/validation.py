"""Check records against their resource's model without building Python objects for them.

A page is checked straight from the bytes the API sent, by a msgspec *twin* of the record's model
(``twin_type``): the same fields and types by API name, unknown fields skipped in C, numeric
strings matched by a regex instead of a Python ``Decimal`` call, free-form values (``Any``)
scanned but not built. msgspec decodes a page of measurements about five times faster than
pydantic-core checks the already-decoded dicts, and the records handed on stay the bytes the API
sent (the warehouse stores exactly those).

What the twin accepts, the model accepts too; a page the twin rejects goes through the model
itself, which decides (a number spelled in a way only ``Decimal`` reads still passes) and names
the first bad field.
"""

from __future__ import annotations

import keyword
import types
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
import orjson
from pydantic import AfterValidator, BaseModel, TypeAdapter, ValidationError

from invivo_pipeline.client.errors import RecordValidationError, one_line
from invivo_pipeline.models.common import parses_as_decimal

LEAN_NUMBER = Annotated[
    str,
    msgspec.Meta(pattern=r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?$"),
]
"""The plain spellings of a finite decimal: a subset of what ``parses_as_decimal`` accepts."""

_PLAIN = (str, int, float, bool, datetime, date, type(None))


@cache
def page_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


@cache
def twin_type(model: type[BaseModel]) -> type[msgspec.Struct]:
    """The model as a msgspec ``Struct``: its fields by API name, unknown fields ignored.

    Raises ``TypeError`` for a field type the twin cannot mirror without becoming laxer than the
    model, and for a model with validators of its own, which a twin without them could pass
    (then ``twin_decoder`` returns None and the model checks every page).
    """
    decorators = model.__pydantic_decorators__
    if any(
        getattr(decorators, kind)
        for kind in ("validators", "field_validators", "root_validators", "model_validators")
    ):
        raise TypeError(f"{model.__name__} has validators of its own")
    fields: list[tuple[Any, ...]] = []
    for name, info in model.model_fields.items():
        api_name = info.alias or name
        if not api_name.isidentifier() or keyword.iskeyword(api_name):
            raise TypeError(f"{model.__name__}.{name}: API name {api_name!r} is not an identifier")
        twin = _twin(info.annotation)
        if info.is_required():
            fields.append((api_name, twin))
        else:
            fields.append((api_name, twin, None))
    # gc=False: decoded JSON holds no cycles, and untracked instances spare the collector.
    return msgspec.defstruct(
        f"Twin{model.__name__}", fields, kw_only=True, forbid_unknown_fields=False, gc=False
    )


def _twin(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        if base is str and all(
            isinstance(m, AfterValidator) and m.func is parses_as_decimal for m in metadata
        ):
            return LEAN_NUMBER
        raise TypeError(f"no twin for {annotation!r}")
    if annotation is Any:
        return msgspec.Raw  # scanned, never built: the model accepts anything here
    if annotation is Decimal:
        return Union[LEAN_NUMBER, int, float]  # noqa: UP007
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return twin_type(annotation)
        if annotation in _PLAIN or issubclass(annotation, Enum):
            return annotation
        raise TypeError(f"no twin for {annotation!r}")
    args = get_args(annotation)
    if origin is Literal:
        return annotation
    if origin in (Union, types.UnionType):
        return Union[tuple(_twin(a) for a in args)]  # noqa: UP007 (built from a tuple)
    if origin is list:
        return list[_twin(args[0])]  # type: ignore[misc]
    if origin is dict and args[0] is str:
        return dict[str, _twin(args[1])]  # type: ignore[misc]
    raise TypeError(f"no twin for {annotation!r}")


@cache
def twin_decoder(model: type[BaseModel]) -> msgspec.json.Decoder[list[Any]] | None:
    """Decodes a page's ``data`` array into twins; None if the model has no twin."""
    try:
        return msgspec.json.Decoder(list[twin_type(model)])  # type: ignore[misc]
    except TypeError:
        return None


def validate_page(
    resource: str, model: type[BaseModel], data: bytes | memoryview, url: str
) -> list[Any]:
    """Check a page's ``data`` array (its JSON bytes); returns one object per record that has the
    record's fields as attributes or keys (``record_value`` reads either)."""
    decoder = twin_decoder(model)
    if decoder is not None:
        try:
            return decoder.decode(data)
        except msgspec.ValidationError:
            pass  # the model itself decides, and names the first bad field
    records = orjson.loads(bytes(data))
    _validate_with_model(resource, model, records, url)
    return records


def record_value(record: Any, key: str) -> Any:
    """A field of a record as ``validate_page`` returns it (a twin, or a dict if the model ruled)."""
    if type(record) is dict:
        return record.get(key)
    return getattr(record, key, None)


def validate_records(
    resource: str, model: type[BaseModel], records: list[dict[str, Any]], url: str
) -> None:
    """Check records already decoded (a retrieved object) against the model itself."""
    _validate_with_model(resource, model, records, url)


def _validate_with_model(
    resource: str, model: type[BaseModel], records: list[Any], url: str
) -> None:
    try:
        page_adapter(model).validate_python(records)
    except ValidationError as exc:
        raise _record_error(resource, url, exc) from None


def field_path(loc: tuple[int | str, ...], root: str = "<record>") -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or root


def _record_error(resource: str, url: str, exc: ValidationError) -> RecordValidationError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    index, *rest = first["loc"] if first["loc"] else (0,)
    field = field_path(tuple(rest))
    got = one_line(repr(first.get("input")), 80)
    more = f" (+{len(errors) - 1} more errors on this page)" if len(errors) > 1 else ""
    return RecordValidationError(
        f"{resource}: record {index} of GET {url} is invalid at {field}: {first['msg']} "
        f"(got {got}){more}",
        resource=resource,
        url=url,
        index=int(index),
        field=field,
        errors=[{k: e[k] for k in ("loc", "msg", "type")} for e in errors],
    )
