"""Check records against their resource's model without changing them.

A whole page goes through one ``TypeAdapter(list[Model])`` call (pydantic-core validates the list in
Rust, far faster than a Python loop). The records handed on are the raw dicts: the models keep
unknown fields anyway, and the warehouse stores exactly what the API sent.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from invivo_pipeline.client.errors import RecordValidationError, one_line


@cache
def page_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def field_path(loc: tuple[int | str, ...], root: str = "<record>") -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or root


def validate_records(
    resource: str, model: type[BaseModel], records: list[dict[str, Any]], url: str
) -> None:
    try:
        page_adapter(model).validate_python(records)
    except ValidationError as exc:
        raise _record_error(resource, url, exc) from None


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
