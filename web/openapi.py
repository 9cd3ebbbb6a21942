"""The OpenAPI 3.1 document for ``/api/`` (served at ``/api/openapi.json``).

Written by hand next to the views rather than generated: it is short, and a test walks
``app.url_map`` to prove that every ``/api`` route (and method) is documented here and
that nothing documented is missing from the app.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from station import __version__

bp = Blueprint("openapi", __name__)

ERROR = {"$ref": "#/components/schemas/Error"}
OBJ = {"type": "object"}
AUTH = [{"cookie": [], "csrf": []}]
READ_AUTH = [{"cookie": []}]


def _resp(
    ok: int = 200,
    schema: dict[str, Any] | None = None,
    *errors: int,
    content_type: str = "application/json",
) -> dict[str, Any]:
    out: dict[str, Any] = {
        str(ok): {"description": "OK", "content": {content_type: {"schema": schema or OBJ}}}
    }
    for code in errors:
        out[str(code)] = {
            "description": _WHY[code],
            "content": {"application/json": {"schema": ERROR}},
        }
    return out


_WHY = {
    400: "malformed request or missing/invalid CSRF token",
    401: "not logged in",
    403: "wrong role",
    404: "not found (or not simulating)",
    409: "refused in the current state (e.g. sessions-per-day limit; says when allowed)",
    413: "request body too large",
    415: "not JSON",
    422: "a field's value is not allowed (field, value, allowed)",
    429: "too many login attempts",
    503: "the engine is not reachable",
}


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    responses: dict[str, Any],
    *,
    security: list | None = None,
    body: dict[str, Any] | None = None,
    params: list | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": responses,
        "security": security if security is not None else AUTH,
    }
    if body:
        op["requestBody"] = body
    if params:
        op["parameters"] = params
    return op


def _q(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def document() -> dict[str, Any]:
    rating = {
        "type": "object",
        "required": ["value"],
        "properties": {
            "value": {"type": "integer", "minimum": 0, "maximum": 10},
            "pleasantness": {"type": ["integer", "null"], "minimum": -10, "maximum": 10},
            "lingering": {"type": ["boolean", "null"]},
            "lingering_where": {"type": ["string", "null"], "maxLength": 200},
        },
    }
    paths: dict[str, Any] = {
        "/api/openapi.json": {"get": _op("This document", _resp(), security=[])},
        "/api/login": {
            "post": _op(
                "Log in; returns the csrf_token to send as X-CSRFToken",
                _resp(
                    200,
                    {
                        "type": "object",
                        "properties": {"user": OBJ, "csrf_token": {"type": "string"}},
                    },
                    400,
                    401,
                    415,
                    422,
                    429,
                ),
                security=[],
                body=_body(
                    {
                        "type": "object",
                        "required": ["name", "password"],
                        "properties": {"name": {"type": "string"}, "password": {"type": "string"}},
                    }
                ),
            )
        },
        "/api/logout": {"post": _op("Log out", _resp(200, OBJ, 400, 401))},
        "/api/status": {
            "get": _op(
                "Station state, current step, progress and next session",
                _resp(200, {"$ref": "#/components/schemas/Status"}),
                security=[],
            )
        },
        "/api/start": {
            "post": _op("Start the armed session", _resp(200, OBJ, 400, 401, 403, 409, 503))
        },
        "/api/stop": {
            "post": _op(
                "Stop everything now (no login, no CSRF token: stopping always works)",
                _resp(200, OBJ, 503),
                security=[],
                body=_body(
                    {
                        "type": "object",
                        "properties": {"reason": {"type": "string", "enum": ["user", "too_much"]}},
                    },
                    required=False,
                ),
            )
        },
        "/api/too-much": {
            "post": _op("Stop at once and record it as too much", _resp(200, OBJ, 400, 401, 503))
        },
        "/api/pause": {
            "post": _op(
                "Pause the running session (outputs to zero)",
                _resp(200, OBJ, 400, 401, 403, 409, 503),
            )
        },
        "/api/resume": {
            "post": _op("Resume the paused session", _resp(200, OBJ, 400, 401, 403, 409, 503))
        },
        "/api/estop/reset": {
            "post": _op(
                "Reset a latched e-stop (any logged-in role)", _resp(200, OBJ, 400, 401, 409, 503)
            )
        },
        "/api/ratings": {
            "post": _op(
                "Record a 0-10 rating (201 means it is on disk)",
                _resp(201, OBJ, 400, 401, 403, 409, 422, 503),
                body=_body(rating),
            )
        },
        "/api/sessions": {
            "get": _op(
                "Sessions, newest first",
                _resp(200, OBJ, 401, 422),
                security=READ_AUTH,
                params=[_q("limit", {"type": "integer", "minimum": 1, "maximum": 1000})],
            )
        },
        "/api/sessions/{session_id}": {
            "get": _op(
                "One session with steps, ratings, journal and decision",
                _resp(200, OBJ, 401, 404),
                security=READ_AUTH,
                params=[
                    {
                        "name": "session_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0},
                    }
                ],
            )
        },
        "/api/journal": {
            "post": _op(
                "Add a journal note",
                _resp(201, OBJ, 400, 401, 422),
                body=_body(
                    {
                        "type": "object",
                        "required": ["text"],
                        "properties": {
                            "text": {"type": "string", "minLength": 1, "maxLength": 4000},
                            "trigger": {"type": ["string", "null"], "maxLength": 200},
                        },
                    }
                ),
            )
        },
        "/api/history": {
            "get": _op(
                "Ratings over time per stimulus and the level history",
                _resp(200, OBJ, 401),
                security=READ_AUTH,
            )
        },
        "/api/settings": {
            "get": _op(
                "Patient settings, the caps that bound them",
                _resp(200, OBJ, 401),
                security=READ_AUTH,
            ),
            "post": _op(
                "Change patient settings (a value above a cap is refused, cap shown)",
                _resp(200, OBJ, 400, 401, 403, 422),
                body=_body(
                    {
                        "type": "object",
                        "properties": {
                            "intensity_percent": {"type": "number"},
                            "brush_speed_cm_s": {"type": ["number", "null"]},
                            "reminder_times": {"type": "array", "items": {"type": "string"}},
                        },
                        "additionalProperties": False,
                    }
                ),
            ),
        },
        "/api/protocols": {
            "get": _op(
                "The protocol library (clinician)", _resp(200, OBJ, 401, 403), security=READ_AUTH
            ),
            "post": _op(
                "Upload a protocol as TOML or JSON (clinician); problems per field",
                _resp(201, OBJ, 400, 401, 403, 409, 413, 422),
                body={
                    "required": True,
                    "content": {
                        "application/toml": {"schema": {"type": "string"}},
                        "application/json": {"schema": OBJ},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        },
                    },
                },
            ),
        },
        "/api/preview": {
            "get": _op(
                "A level compiled: steps and intensity against time per actuator (clinician)",
                _resp(200, OBJ, 401, 403, 404, 422),
                security=READ_AUTH,
                params=[
                    _q("protocol", {"type": "string"}, True),
                    _q("level", {"type": "string"}, True),
                ],
            )
        },
        "/api/plan": {
            "post": _op(
                "Assign a protocol and level (clinician)",
                _resp(200, OBJ, 400, 401, 403, 404, 422),
                body=_body(
                    {
                        "type": "object",
                        "required": ["protocol", "level"],
                        "properties": {
                            "protocol": {"type": "string"},
                            "level": {"type": "string", "description": "ladder/index, id or name"},
                        },
                    }
                ),
            )
        },
        "/api/hardware/calibration": {
            "get": _op(
                "Stored DRV2605L auto-calibration per haptic actuator (clinician)",
                _resp(200, OBJ, 401, 403, 503),
                security=READ_AUTH,
            )
        },
        "/api/hardware/calibrate": {
            "post": _op(
                "Auto-calibrate one haptic actuator through the engine (~1.1 s, it "
                "vibrates) and store the results (clinician); refused while a session "
                "is running or paused, or when the calibration fails (message says why)",
                _resp(
                    200,
                    {
                        "type": "object",
                        "properties": {
                            "actuator": {"type": "string"},
                            "actuator_kind": {"type": "string", "enum": ["lra", "erm"]},
                            "compensation": {"type": "integer", "minimum": 0, "maximum": 255},
                            "back_emf": {"type": "integer", "minimum": 0, "maximum": 255},
                            "back_emf_gain": {"type": "integer", "minimum": 0, "maximum": 3},
                            "calibrated_at": {"type": ["string", "null"]},
                            "applied": {"type": "boolean"},
                            "note": {"type": "string"},
                        },
                    },
                    400,
                    401,
                    403,
                    409,
                    422,
                    503,
                ),
                body=_body(
                    {
                        "type": "object",
                        "required": ["actuator"],
                        "properties": {
                            "actuator": {
                                "type": "string",
                                "description": "a haptic actuator's name from the wiring",
                            }
                        },
                    }
                ),
            )
        },
        "/api/events": {
            "get": _op(
                "Server-sent events: status, step_started, step_finished, stopped, state, fault",
                _resp(200, {"type": "string"}, 401, content_type="text/event-stream"),
                security=READ_AUTH,
            )
        },
        "/api/sim/buttons/{name}/press": {
            "post": _op(
                "Press a simulated panel button (simulator only)",
                _resp(200, OBJ, 400, 404, 503),
                security=[{"csrf": []}],
                params=[
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": ["start", "stop", "estop"]},
                    }
                ],
            )
        },
        "/api/sim/outputs": {
            "get": _op(
                "What each simulated actuator is doing",
                _resp(
                    200,
                    {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {
                                "active": {"type": "boolean"},
                                "level": {"type": "number", "minimum": 0, "maximum": 1},
                            },
                        },
                    },
                    404,
                    503,
                ),
                security=[],
            )
        },
        "/api/sim/trace": {
            "get": _op(
                "Timestamped simulated hardware writes",
                _resp(200, OBJ, 404, 422, 503),
                security=[],
                params=[
                    _q("since", {"type": "integer", "minimum": 0}),
                    _q("limit", {"type": "integer", "minimum": 1, "maximum": 10000}),
                ],
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Station API",
            "version": __version__,
            "description": "Local API of the stimulation station. State-changing calls "
            "with a session cookie need the X-CSRFToken header.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "field": {"type": ["string", "null"]},
                                "value": {},
                                "allowed": {},
                            },
                        }
                    },
                },
                "Status": {
                    "type": "object",
                    "required": ["state", "progress"],
                    "properties": {
                        "state": {"type": "string"},
                        "progress": {"type": "number"},
                        "elapsed_ms": {"type": "integer"},
                        "duration_ms": {"type": "integer"},
                        "time_left_ms": {"type": "integer"},
                        "step": {"type": ["object", "null"]},
                        "next": {"type": ["object", "null"]},
                    },
                },
            },
        },
    }


@bp.get("/api/openapi.json", endpoint="document")
def document_view() -> object:
    return jsonify(document())
