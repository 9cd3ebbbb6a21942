"""The OpenAPI 3.1 document for ``/api/`` (served at ``/api/openapi.json``), generated.

Nothing here is written by hand per route: the document walks the app's URL map, and for
each ``/api/`` view reads the ``Contract`` its ``@contract`` decorator recorded (the very
models that validate its requests), the roles its ``@role_required`` allows (security,
401 and 403) and whether it takes a CSRF token (400). Schemas are pydantic's own
``model_json_schema`` output, gathered under ``components/schemas``. A test proves every
route is documented, and schemathesis checks every answer against this document.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from station import __version__
from web import models, responses
from web.contract import Contract, contract, contract_of

bp = Blueprint("openapi", __name__)

REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": "#/components/schemas/Error"}

WHY = {
    400: "malformed request (the body is not a JSON object) or a missing/invalid CSRF token",
    401: "not logged in",
    403: "the caller's role may not do this",
    404: "not found (or not simulating)",
    409: "refused in the current state (e.g. sessions-per-day limit; says when allowed)",
    413: "request body too large",
    415: "not JSON",
    422: "a field's value is not allowed (field, value, allowed)",
    429: "too many attempts (or, for /api/events, too many open streams)",
    503: "the engine is not reachable",
}


def operations(app: Flask) -> list[tuple[str, str, Any, Contract | None]]:
    """(method, OpenAPI path, view, contract) for every ``/api/`` route of the app."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method.lower(), path, view, contract_of(view)))
    return out


def _schemas(ops: list[tuple[str, str, Any, Contract | None]]) -> dict[str, Any]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {
        (responses.Error, "serialization"): None
    }
    for _, _, _, spec in ops:
        if spec is None:
            continue
        for model in (spec.body, spec.query):
            if model is not None:
                wanted[(model, "validation")] = None
        if spec.ok is not None:
            wanted[(spec.ok, "serialization")] = None
    keys, defs = models_json_schema(list(wanted), ref_template=REF)
    schemas = defs.get("$defs", {})
    for schema in schemas.values():
        _drop_null_defaults(schema)
    return {"refs": keys, "schemas": schemas}


def _drop_null_defaults(schema: dict[str, Any]) -> None:
    """An optional field that may not be null says nothing about a default: pydantic's
    ``"default": null`` there would contradict its own type."""
    for prop in schema.get("properties", {}).values():
        nullable = prop.get("type") == "null" or any(
            o.get("type") == "null" for o in prop.get("anyOf", [])
        )
        if "default" in prop and prop["default"] is None and not nullable:
            del prop["default"]


def _query_params(model: type[BaseModel], schemas: dict[str, Any], ref: Any) -> list[Any]:
    schema = schemas.get(ref["$ref"].rsplit("/", 1)[-1], {}) if "$ref" in ref else ref
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def operation(
    method: str, path: str, view: Any, spec: Contract, refs: dict[Any, Any], schemas: Any
) -> dict[str, Any]:
    roles = getattr(view, "station_roles", None)
    csrf = method == "post" and spec.csrf
    codes = set(spec.errors)
    security: list[dict[str, list[str]]] = []
    if roles:
        codes.add(401)
        if set(roles) != set(models.ROLES):
            codes.add(403)
        security = [{"cookie": [], "csrf": []} if csrf else {"cookie": []}]
    elif csrf:
        security = [{"csrf": []}]
    if csrf:
        codes.add(400)
    if spec.json_only:
        codes.add(415)
    op: dict[str, Any] = {"summary": spec.summary, "operationId": view.__name__}
    if roles:
        op["description"] = f"Roles: {', '.join(roles)}."
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in spec.path.items()
    ]
    if spec.query is not None:
        params += _query_params(spec.query, schemas, refs[(spec.query, "validation")])
        codes.add(422)
    if params:
        op["parameters"] = params
    if spec.body is not None:
        body = spec.body.model_json_schema(ref_template=REF)  # inline: read in one place
        _drop_null_defaults(body)
        op["requestBody"] = {
            "required": spec.body_required,
            "content": {"application/json": {"schema": body}},
        }
        codes |= {400, 413, 422}
    elif spec.request_content is not None:
        op["requestBody"] = {"required": spec.body_required, "content": spec.request_content}
    ok_schema = refs[(spec.ok, "serialization")] if spec.ok is not None else {"type": "object"}
    op["responses"] = {
        str(spec.status): {
            "description": "OK",
            "content": {spec.content_type: {"schema": ok_schema}},
        }
    }
    for media, schema in spec.also_content.items():
        op["responses"][str(spec.status)]["content"][media] = {"schema": schema}
    for code in sorted(codes):
        op["responses"][str(code)] = {
            "description": WHY.get(code, "refused"),
            "content": {"application/json": {"schema": ERROR_REF}},
        }
    op["security"] = security
    return op


STATION_INFO = {
    "title": "Station API",
    "description": "Local API of the stimulation station. State-changing calls "
    "with a session cookie need the X-CSRFToken header (from POST /api/login).",
}


def document(app: Flask, *, info: dict[str, str] | None = None) -> dict[str, Any]:
    """The document of ``app``'s ``/api/`` routes; ``info`` (title, description) names
    the API (the station's by default; the clinic hub passes its own)."""
    ops = operations(app)
    gathered = _schemas(ops)
    paths: dict[str, dict[str, Any]] = {}
    for method, path, view, spec in ops:
        if spec is None:  # undocumented: the route test names it
            continue
        paths.setdefault(path, {})[method] = operation(
            method, path, view, spec, gathered["refs"], gathered["schemas"]
        )
    return {
        "openapi": "3.1.0",
        "info": {**(info or STATION_INFO), "version": __version__},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
            },
            "schemas": gathered["schemas"],
        },
    }


@bp.get("/api/openapi.json", endpoint="document")
@contract("This document", ok=responses.Document)
def document_view() -> Any:
    return jsonify(document(current_app))
