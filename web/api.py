"""The JSON API under ``/api/`` that the page's JavaScript and outside tools use.

Views stay thin: they check who is asking, validate the request's shape, and hand the
rest to the coordinator. ``POST /api/stop`` needs neither login nor CSRF token, because
stopping must work from a stale page, a locked-out phone or a script.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from web import shaping
from web.auth import whoami
from web.errors import ApiError
from web.security import actor, login_required_any, role_required

bp = Blueprint("api", __name__, url_prefix="/api")

STOP_REASONS = ("user", "too_much")
TRIGGER_MAX = 200
TEXT_MAX = 4000


def coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


def json_body(*, required: bool = True) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and not required and not request.data:
        return {}
    if not isinstance(body, dict):
        raise ApiError(
            400, "invalid", "the body must be a JSON object (Content-Type: application/json)"
        )
    return body


def int_field(
    body: dict[str, Any], name: str, lo: int, hi: int, *, required: bool = True
) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ApiError(
            422,
            "invalid",
            f"{name} must be a whole number from {lo} to {hi}",
            field=name,
            value=value,
            allowed=f"{lo}..{hi}",
        )
    return value


def str_field(body: dict[str, Any], name: str, limit: int, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise ApiError(
            422,
            "invalid",
            f"{name} must be text of 1 to {limit} characters",
            field=name,
            value=value if not isinstance(value, str) else value[:60],
            allowed=f"1..{limit} characters",
        )
    return value.strip()


@bp.get("/status")
def status() -> Any:
    """Open to all: the stop button's page must know whether anything is running."""
    out = coord().status()
    out["user"] = whoami()
    return jsonify(out)


@bp.post("/start")
@role_required("patient", "clinician")
def start() -> Any:
    return jsonify(coord().start(by=actor()))


@bp.post("/stop")
def stop() -> Any:
    body = request.get_json(silent=True)
    reason = body.get("reason", "user") if isinstance(body, dict) else "user"
    if reason not in STOP_REASONS:
        reason = "user"
    return jsonify(coord().stop(reason=reason, by=actor()))


@bp.post("/too-much")
@login_required_any
def too_much() -> Any:
    """Stops at once and records that it was too much (a rating of 10 on the session)."""
    return jsonify(coord().too_much(by=actor()))


@bp.post("/pause")
@role_required("patient", "clinician")
def pause() -> Any:
    return jsonify(coord().pause(by=actor()))


@bp.post("/resume")
@role_required("patient", "clinician")
def resume() -> Any:
    return jsonify(coord().resume(by=actor()))


@bp.post("/estop/reset")
@login_required_any
def reset_estop() -> Any:
    """Unlatching the e-stop re-enables stimulation, so it needs a login (any role);
    the engine still refuses while the e-stop button is pressed in."""
    return jsonify(coord().reset_estop(by=actor()))


@bp.post("/ratings")
@role_required("patient", "clinician")
def ratings() -> Any:
    body = json_body()
    value = int_field(body, "value", 0, 10)
    pleasantness = body.get("pleasantness")
    if pleasantness is not None:
        pleasantness = int_field(body, "pleasantness", -10, 10)
    lingering = body.get("lingering")
    if lingering is not None and not isinstance(lingering, bool):
        raise ApiError(
            422, "invalid", "lingering must be true or false", field="lingering", value=lingering
        )
    where = str_field(body, "lingering_where", 200, required=False)
    rec = coord().rate(
        value, by=actor(), pleasantness=pleasantness, lingering=lingering, lingering_where=where
    )
    return jsonify(rec), 201


@bp.get("/sessions")
@login_required_any
def sessions() -> Any:
    limit = request.args.get("limit", "100")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        raise ApiError(
            422, "invalid", "limit must be 1..1000", field="limit", value=limit, allowed="1..1000"
        )
    return jsonify({"sessions": coord().list_sessions(limit=int(limit))})


@bp.get("/sessions/<int:session_id>")
@login_required_any
def session(session_id: int) -> Any:
    return jsonify(coord().get_session(session_id))


@bp.post("/journal")
@login_required_any
def journal() -> Any:
    body = json_body()
    text = str_field(body, "text", TEXT_MAX)
    trigger = str_field(body, "trigger", TRIGGER_MAX, required=False)
    return jsonify(coord().add_journal(text, trigger=trigger, by=actor())), 201


@bp.get("/history")
@login_required_any
def history() -> Any:
    return jsonify(shaping.history(coord()))


@bp.get("/settings")
@login_required_any
def get_settings() -> Any:
    return jsonify(shaping.get_settings(coord()))


@bp.post("/settings")
@role_required("patient", "clinician")
def post_settings() -> Any:
    return jsonify(coord().update_settings(json_body(), by=actor()))


@bp.get("/protocols")
@role_required("clinician")
def list_protocols() -> Any:
    return jsonify({"protocols": shaping.protocols(coord())})


@bp.post("/protocols")
@role_required("clinician")
def upload_protocol() -> Any:
    """Accepts TOML or JSON, as a raw body or a multipart ``file``; errors per field."""
    if "file" in request.files:
        upload = request.files["file"]
        text = upload.read().decode("utf-8", errors="replace")
        name = upload.filename or ""
    else:
        text = request.get_data(as_text=True)
        name = ""
    if not text.strip():
        raise ApiError(422, "invalid", "the protocol is empty; send TOML or JSON", field="body")
    fmt = "json" if name.endswith(".json") or (request.mimetype or "").endswith("json") else None
    return jsonify(shaping.import_protocol(coord(), text, fmt=fmt)), 201


@bp.get("/preview")
@role_required("clinician")
def preview() -> Any:
    protocol_id = request.args.get("protocol", "")
    level = request.args.get("level", "")
    if not protocol_id or not level:
        raise ApiError(
            422,
            "invalid",
            "protocol and level are required",
            field="protocol" if not protocol_id else "level",
        )
    return jsonify(shaping.preview(coord(), protocol_id, level))


@bp.post("/plan")
@role_required("clinician")
def plan() -> Any:
    body = json_body()
    protocol_id = str_field(body, "protocol", 200)
    level = str_field(body, "level", 200)
    return jsonify(coord().assign(protocol_id, level, by=actor()))


@bp.get("/hardware/calibration")
@role_required("clinician")
def calibration() -> Any:
    """The stored DRV2605L auto-calibration per haptic actuator (clinician)."""
    return jsonify(coord().calibration())


@bp.post("/hardware/calibrate")
@role_required("clinician")
def calibrate() -> Any:
    """Run one haptic actuator's auto-calibration through the engine (~1.1 s; it
    vibrates) and store the results; refused while a session runs or is paused."""
    body = json_body()
    if "actuator" not in body:
        allowed = coord().calibratable()
        raise ApiError(
            422,
            "invalid",
            f"actuator is required: the haptic actuator to calibrate ({', '.join(allowed)})",
            field="actuator",
            value=None,
            allowed=allowed,
        )
    return jsonify(coord().calibrate(body["actuator"], by=actor()))


@bp.get("/events")
@login_required_any
def events() -> Response:
    """Server-sent events: the station's state and step changes, pushed as they happen."""
    max_seconds = current_app.config["SSE_MAX_SECONDS"]
    heartbeat = current_app.config["SSE_HEARTBEAT_SECONDS"]
    sub = coord().subscribe()

    def stream() -> Iterator[str]:
        deadline = time.monotonic() + max_seconds
        try:
            yield "retry: 2000\n\n"
            yield _sse("status", coord().status())
            while time.monotonic() < deadline:
                try:
                    event = sub.get(timeout=min(heartbeat, max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                yield _sse(event.get("event", "message"), event)
        finally:
            sub.close()

    resp = Response(stream_with_context(stream()), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp


def _sse(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n"
