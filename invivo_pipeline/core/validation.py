"""Check records against their resource's model without building Python objects for them.

A page is checked straight from the bytes the API sent, by a msgspec *twin* of the record's model
(``twin_type``): the same fields and types by API name, unknown fields skipped in C, numeric
strings matched by a regex instead of a Python ``Decimal`` call, free-form values (``Any``)
scanned but not built. msgspec decodes a page of measurements several times faster than
pydantic-core checks the already-decoded dicts (docs/performance.md), and the records handed on stay
the bytes the API sent (the warehouse stores exactly those).

What the twin accepts, the model accepts too; a page the twin rejects is checked record by record
(only a failing page pays that cost): each record the twin rejects goes through the model itself,
which decides (a number spelled in a way only ``Decimal`` reads still passes) and names the first
bad field. A record the model rejects too becomes a ``Reject``; the rest of the page goes on.
"""

from __future__ import annotations

import keyword
import types
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
import orjson
from pydantic import AfterValidator, BaseModel, BeforeValidator, TypeAdapter, ValidationError

from invivo_pipeline.core.errors import RecordValidationError, one_line
from invivo_pipeline.core.model_fields import number_as_text, parses_as_decimal
from invivo_pipeline.core.rejects import Reject, record_id_of

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
        if base is str and all(_numeric_string_part(m) for m in metadata):
            # A JSON number is tolerated where the reference sends a string (``number_as_text``).
            return Union[LEAN_NUMBER, int, float]  # noqa: UP007
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


def _numeric_string_part(metadata: Any) -> bool:
    return (isinstance(metadata, AfterValidator) and metadata.func is parses_as_decimal) or (
        isinstance(metadata, BeforeValidator) and metadata.func is number_as_text
    )


@cache
def twin_decoder(model: type[BaseModel]) -> msgspec.json.Decoder[list[Any]] | None:
    """Decodes a page's ``data`` array into twins; None if the model has no twin."""
    try:
        return msgspec.json.Decoder(list[twin_type(model)])  # type: ignore[misc]
    except TypeError:
        return None


@cache
def _record_decoder(model: type[BaseModel]) -> msgspec.json.Decoder[Any] | None:
    """Decodes one record into a twin; None if the model has no twin."""
    try:
        return msgspec.json.Decoder(twin_type(model))
    except TypeError:
        return None


@dataclass
class CheckedPage:
    """A page's records that passed, and those set aside."""

    records: list[Any]
    """One object per passing record, with its fields as attributes or keys (``record_value``)."""
    kept: list[int] | None = None
    """Positions in the page of ``records``; None when every record passed."""
    rejects: list[Reject] = field(default_factory=list)


def validate_page(
    model: type[BaseModel], data: bytes | memoryview, records: list[Any] | None = None
) -> CheckedPage:
    """Check a page's ``data`` array (its JSON bytes). ``records``, each record's bytes as split
    from ``data``, lets a failing page be checked record by record (else the array is split here).
    """
    decoder = twin_decoder(model)
    if decoder is not None:
        try:
            return CheckedPage(decoder.decode(data))
        except msgspec.ValidationError:
            pass  # record by record: the good ones go on, the model names what is wrong
    else:
        decoded = orjson.loads(bytes(data))
        try:
            page_adapter(model).validate_python(decoded)
            return CheckedPage(decoded)
        except ValidationError:
            pass
    if records is None:
        records = _RECORDS.decode(data)
    return _record_by_record(model, records)


_RECORDS = msgspec.json.Decoder(list[msgspec.Raw])


def _record_by_record(model: type[BaseModel], records: list[Any]) -> CheckedPage:
    single = _record_decoder(model)
    kept: list[int] = []
    checked = CheckedPage([], kept)
    for at, raw in enumerate(records):
        if single is not None:
            try:
                checked.records.append(single.decode(raw))
                kept.append(at)
                continue
            except msgspec.ValidationError:
                pass
        record = orjson.loads(bytes(raw))
        try:
            model.__pydantic_validator__.validate_python(record)
        except ValidationError as exc:
            checked.rejects.append(_reject(exc, bytes(raw), record, at))
            continue
        checked.records.append(record)
        kept.append(at)
    return checked


def validate_object(model: type[BaseModel], record: dict[str, Any]) -> Reject | None:
    """A retrieved object checked against the model: None if it passes, else its ``Reject``
    (its bytes re-serialised: a retrieve answer is decoded whole)."""
    try:
        model.__pydantic_validator__.validate_python(record)
    except ValidationError as exc:
        return _reject(exc, orjson.dumps(record), record, 0)
    return None


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


def _first_problem(exc: ValidationError, index: int | None) -> tuple[int, str, str]:
    """``(index, field, reason)`` of the first error; the reason names field, problem and value.

    ``index`` is the record's place in its page when ``exc`` is about that record alone (its
    error locations then start at the field, not at the record's index)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    if index is None:
        index, *rest = loc if loc else (0,)
    else:
        rest = list(loc)
    field = field_path(tuple(rest))
    got = one_line(repr(first.get("input")), 80)
    more = f" (+{len(errors) - 1} more errors)" if len(errors) > 1 else ""
    return int(index), field, f"{field}: {first['msg']} (got {got}){more}"


def _reject(exc: ValidationError, raw: bytes, record: Any, index: int) -> Reject:
    return Reject(raw, _first_problem(exc, index)[2], record_id_of(record))


def _record_error(resource: str, url: str, exc: ValidationError) -> RecordValidationError:
    index, field, reason = _first_problem(exc, None)
    return RecordValidationError(
        f"{resource}: record {index} of GET {url} is invalid at {reason}",
        resource=resource,
        url=url,
        index=index,
        field=field,
        errors=[{k: e[k] for k in ("loc", "msg", "type")} for e in exc.errors(include_url=False)],
    )
