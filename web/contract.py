"""One decorator per API view: what it accepts, what it answers, and the validation.

``@contract(...)`` records a ``Contract`` on the view (``openapi.py`` reads it to write
the document) and validates the request with the same pydantic models before the view
runs, handing the view ``body=`` and ``query=`` as model instances. Put it *under*
``@role_required`` so that who-may-ask is answered (401/403) before what-was-asked (422).

A refusal keeps the API's one error shape (``web.errors``): the first problem's field,
the value sent, what is allowed (taken from the model's JSON Schema, or from ``allowed``
for lists only known at run time, such as the wiring's actuators) and a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from web.errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])
ATTR = "station_contract"


@dataclass(frozen=True)
class Contract:
    """The HTTP contract of one view (one method of one path)."""

    summary: str
    ok: type[BaseModel] | None = None  # the success body; None: any JSON object
    status: int = 200
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()  # statuses the core may answer (404, 409, 503, ...)
    csrf: bool = True  # a POST needs X-CSRFToken (400 without it)
    json_only: bool = False  # a body that is not JSON is 415, not 400
    content_type: str = "application/json"
    request_content: dict[str, Any] | None = None  # a non-JSON body, documented as given
    # other media types the success answer may have (a format the caller chose): schema
    also_content: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: dict[str, dict[str, Any]] = field(default_factory=dict)  # path parameter schemas
    allowed: dict[str, Callable[[], Any]] = field(default_factory=dict)


def contract(summary: str, **kwargs: Any) -> Callable[[F], F]:
    spec = Contract(summary, **kwargs)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kw: Any) -> Any:
            if spec.query is not None:
                kw["query"] = validate(spec.query, query_args(), spec)
            if spec.json_only and not request.is_json:
                raise ApiError(
                    415, "unsupported_media_type", "send JSON (Content-Type: application/json)"
                )
            if spec.body is not None:
                raw = json_object(required=spec.body_required)
                kw["body"] = validate(spec.body, raw, spec)
            return view(*args, **kw)

        setattr(wrapper, ATTR, spec)
        return wrapper  # type: ignore[return-value]

    return decorate


def contract_of(view: Any) -> Contract | None:
    """The contract of a registered view (``functools.wraps`` carries the attribute
    through the role and rate-limit wrappers)."""
    spec = getattr(view, ATTR, None)
    return spec if isinstance(spec, Contract) else None


def json_object(*, required: bool = True) -> dict[str, Any]:
    """The request's JSON object; an absent body is ``{}`` when none is required."""
    if not required and not request.get_data(cache=True):
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        try:
            request.get_data(cache=True).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(
                400, "invalid", f"the body is not UTF-8 text (byte {exc.start}); send UTF-8 JSON"
            ) from None
        raise ApiError(
            400, "invalid", "the body must be a JSON object (Content-Type: application/json)"
        )
    return body


def query_args() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, values in request.args.lists():
        if len(values) > 1:
            raise ApiError(
                422, "invalid", f"{name} is given {len(values)} times; send it once", field=name
            )
        out[name] = values[0]
    return out


def validate(model: type[BaseModel], data: dict[str, Any], spec: Contract) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise refusal(model, exc, spec, data) from None


def refusal(
    model: type[BaseModel], exc: ValidationError, spec: Contract, data: dict[str, Any]
) -> ApiError:
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"]]
    name = loc[0] if loc else ""
    path = ".".join(loc)
    schema = model.model_json_schema()
    prop = schema.get("properties", {}).get(name, {})
    if len(loc) > 1 and "items" in prop:  # one item of a list: what an item allows
        prop = prop["items"]
    allowed = spec.allowed[name]() if name in spec.allowed else allowed_of(prop, schema)
    kind = err["type"]
    value = data.get(name) if len(loc) == 1 else err.get("input")
    if kind == "missing":
        problem = "is required"
    elif kind == "extra_forbidden":
        allowed = sorted(schema.get("properties", {}))
        problem = "is not a field of this request"
    else:
        problem = f"= {_short(value)} is not allowed ({err['msg']})"
    if isinstance(value, str) and len(value) > 60:
        value = value[:60]
    message = f"{path or 'the request'} {problem}"
    if allowed is not None:
        shown = ", ".join(map(str, allowed)) if isinstance(allowed, list) else allowed
        message += f"; allowed: {shown}"
    return ApiError(422, "invalid", message, field=path or None, value=value, allowed=allowed)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def allowed_of(prop: dict[str, Any], schema: dict[str, Any]) -> Any:
    """What a field allows, in words a person reads: "0..10", a list of choices,
    "1..200 characters" or "true or false"."""
    for option in prop.get("anyOf", []):
        if option.get("type") != "null":
            prop = {**option, **{k: v for k, v in prop.items() if k != "anyOf"}}
            break
    if "$ref" in prop:
        prop = schema.get("$defs", {}).get(prop["$ref"].rsplit("/", 1)[-1], prop)
    if "enum" in prop:
        return list(prop["enum"])
    if "const" in prop:
        return [prop["const"]]
    kind = prop.get("type")
    if kind in ("integer", "number"):
        lo = prop.get("minimum", prop.get("exclusiveMinimum"))
        hi = prop.get("maximum", prop.get("exclusiveMaximum"))
        if lo is None and hi is None:
            return "a whole number" if kind == "integer" else "a number"
        low = "" if lo is None else (f">{lo}" if "exclusiveMinimum" in prop else f"{lo}")
        high = "" if hi is None else f"{hi}"
        return f"{low}..{high}"
    if kind == "string":
        if "pattern" in prop and prop["pattern"] != r"\S":
            return f"text matching {prop['pattern']}"
        return f"{prop.get('minLength', 0)}..{prop.get('maxLength', '')} characters"
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        return f"a list of at most {prop.get('maxItems', 'any number of')} items"
    return None
