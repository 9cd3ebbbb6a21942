"""One error shape for the whole JSON API, and readable pages for the browser.

Every API failure is ``{"error": {"code", "message", "field", "value", "allowed"}}`` with
a 4xx status, so a client (the page's JavaScript, a test, schemathesis) can name what was
wrong without parsing prose. Station errors from storage and protocols map onto statuses
here, once, instead of in every view.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from station.errors import ConfigError, StationError


class ApiError(Exception):
    """A request the station refuses, with what the caller needs to fix it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        allowed: Any = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.value = value
        self.allowed = allowed
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        err = {
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "value": _jsonable(self.value),
            "allowed": _jsonable(self.allowed),
        }
        err.update(self.extra)
        return {"error": err}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def station_error_status(exc: StationError) -> tuple[int, str]:
    """Storage and protocol errors carry their meaning in their class name."""
    name = type(exc).__name__
    if isinstance(exc, ConfigError):
        return 422, "invalid"
    return {
        "NotFound": (404, "not_found"),
        "Conflict": (409, "conflict"),
        "InvalidInput": (422, "invalid"),
        "NotAllowed": (409, "not_allowed"),
        "EngineUnavailable": (503, "engine_unavailable"),
        "StorageFull": (503, "storage_full"),
    }.get(name, (409, "refused"))


def from_station_error(exc: StationError) -> ApiError:
    status, code = station_error_status(exc)
    if isinstance(exc, ConfigError):
        first = exc.problems[0] if exc.problems else None
        return ApiError(
            status,
            code,
            str(exc),
            field=first.path if first else None,
            value=first.value if first and first.has_value else None,
            extra={"problems": [p.as_dict() for p in exc.problems]},
        )
    return ApiError(
        status,
        code,
        str(exc),
        field=getattr(exc, "field", None),
        value=getattr(exc, "value", None),
        allowed=getattr(exc, "allowed", None),
    )


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _respond(err: ApiError) -> Response:
    if wants_json():
        resp = jsonify(err.body())
        resp.status_code = err.status
        return resp
    html = render_template("error.html", error=err)
    return Response(html, status=err.status, mimetype="text/html")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return _respond(exc)

    @app.errorhandler(StationError)
    def _station_error(exc: StationError) -> Response:
        return _respond(from_station_error(exc))

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response:
        return _respond(
            ApiError(
                400,
                "csrf",
                f"{exc.description} Reload the page; API clients send the csrf_token from "
                "POST /api/login in the X-CSRFToken header.",
                field="X-CSRFToken",
            )
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"the request is larger than the {limit} bytes allowed"
            err = ApiError(413, "too_large", message, allowed=limit)
        else:
            err = ApiError(exc.code or 500, code, message)
        resp = _respond(err)
        if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            resp.headers["Allow"] = ", ".join(exc.valid_methods)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return _respond(
            ApiError(500, "internal", f"internal error ({type(exc).__name__}); see the log")
        )
