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
from typing import Any, Literal

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from flask_login import current_user

from station.protocols.settings import PatientSettings
from web import models as m
from web import responses as r
from web import shaping, visibility
from web.auth import whoami
from web.contract import contract
from web.errors import ApiError
from web.security import actor, login_required_any, role_required

bp = Blueprint("api", __name__, url_prefix="/api")

INT64_MAX = 2**63 - 1
STATION = (503,)  # the engine may be unreachable
STATE = (409, 503)  # refused in the current state, or the engine is unreachable


def coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


@bp.get("/status")
@contract("Station state, current step, progress and next session (open to all)", ok=r.StatusOut)
def status() -> Any:
    """Open to all: the stop button's page must know whether anything is running."""
    out = visibility.for_visitor(coord().status(), logged_in=current_user.is_authenticated)
    out["user"] = whoami()
    return jsonify(out)


@bp.post("/start")
@role_required("patient", "clinician")
@contract("Start the armed session", ok=r.StartOut, errors=STATE)
def start() -> Any:
    return jsonify(coord().start(by=actor()))


@bp.post("/stop")
@contract(
    "Stop everything now (no login, no CSRF token: stopping always works)",
    ok=r.StopOut,
    errors=STATION,
    csrf=False,
    body_required=False,
    request_content={"application/json": {"schema": m.STOP_BODY}},
)
def stop() -> Any:
    """Any body, or none, still stops: a malformed or unknown reason is the page's own
    "user" stop, never a refusal (so the document constrains nothing: ``STOP_BODY``)."""
    body = request.get_json(silent=True)
    reason = body.get("reason", "user") if isinstance(body, dict) else "user"
    if not isinstance(reason, str) or reason not in m.STOP_REASONS:
        reason = "user"
    answer = coord().stop(reason=reason, by=actor())
    return jsonify(visibility.answer_for_visitor(answer, logged_in=current_user.is_authenticated))


@bp.post("/too-much")
@login_required_any
@contract(
    "Stop at once and record it as too much (a live rating at the stop threshold)",
    ok=r.TooMuchOut,
    errors=STATION,
)
def too_much() -> Any:
    """Stops at once and records that it was too much: a live rating at the session's stop
    threshold (``station.app.too_much`` says why not 10)."""
    return jsonify(coord().too_much(by=actor()))


@bp.post("/pause")
@role_required("patient", "clinician")
@contract("Pause the running session (outputs to zero)", ok=r.PauseOut, errors=STATE)
def pause() -> Any:
    return jsonify(coord().pause(by=actor()))


@bp.post("/resume")
@role_required("patient", "clinician")
@contract("Resume the paused session", ok=r.ResumeOut, errors=STATE)
def resume() -> Any:
    return jsonify(coord().resume(by=actor()))


@bp.post("/estop/reset")
@login_required_any
@contract("Reset a latched e-stop (any logged-in role)", ok=r.ResetOut, errors=STATE)
def reset_estop() -> Any:
    """Unlatching the e-stop re-enables stimulation, so it needs a login (any role);
    the engine still refuses while the e-stop button is pressed in."""
    return jsonify(coord().reset_estop(by=actor()))


@bp.post("/ratings")
@role_required("patient", "clinician")
@contract(
    "Record a 0-10 rating (201 means it is on disk; 202: it stopped the session but the "
    "disk is full, it is written when space is freed; 503 storage_full: not kept)",
    body=m.RatingIn,
    ok=r.RatingOut,
    status=201,
    errors=STATE,
)
def ratings(body: m.RatingIn) -> Any:
    rec = coord().rate(
        body.value,
        by=actor(),
        pleasantness=body.pleasantness,
        lingering=body.lingering,
        lingering_where=body.lingering_where.strip() if body.lingering_where else None,
    )
    return jsonify(rec), 201 if rec.get("saved", True) else 202  # 202: stopped, not on disk


@bp.get("/sessions")
@login_required_any
@contract("Sessions, newest first", query=m.SessionsQuery, ok=r.SessionsOut)
def sessions(query: m.SessionsQuery) -> Any:
    return jsonify({"sessions": coord().list_sessions(limit=query.limit)})


@bp.get("/sessions/<int:session_id>")
@login_required_any
@contract(
    "One session with steps, ratings, journal and decision",
    ok=r.SessionDetail,
    errors=(404,),
    path={"session_id": {"type": "integer", "minimum": 0, "maximum": INT64_MAX}},
)
def session(session_id: int) -> Any:
    if session_id > INT64_MAX:
        raise ApiError(404, "not_found", f"no session {session_id}", field="session_id")
    return jsonify(coord().get_session(session_id))


@bp.post("/journal")
@login_required_any
@contract("Add a journal note", body=m.JournalIn, ok=r.JournalOut, status=201)
def journal(body: m.JournalIn) -> Any:
    trigger = body.trigger.strip() if body.trigger is not None else None
    return jsonify(coord().add_journal(body.text.strip(), trigger=trigger, by=actor())), 201


@bp.get("/history")
@login_required_any
@contract("Ratings over time per stimulus and the level history", ok=r.HistoryOut)
def history() -> Any:
    return jsonify(shaping.history(coord()))


@bp.get("/settings")
@login_required_any
@contract("Patient settings and the caps that bound them", ok=r.SettingsView)
def get_settings() -> Any:
    return jsonify(shaping.get_settings(coord()))


@bp.post("/settings")
@role_required("patient", "clinician")
@contract(
    "Change patient settings (a value above a cap is refused, cap shown)",
    body=m.SettingsIn,
    ok=PatientSettings,
    errors=(409,),
)
def post_settings(body: m.SettingsIn) -> Any:
    changes = body.model_dump(exclude_unset=True)
    revision = changes.pop("revision", None)
    return jsonify(coord().update_settings(changes, by=actor(), revision=revision))


@bp.get("/protocols")
@role_required("clinician")
@contract("The protocol library (clinician)", ok=r.ProtocolsOut)
def list_protocols() -> Any:
    return jsonify({"protocols": shaping.protocols(coord())})


@bp.post("/protocols")
@role_required("clinician")
@contract(
    "Upload a protocol as TOML or JSON (clinician); problems per field",
    ok=r.ImportOut,
    status=201,
    errors=(409, 413, 422),
    request_content={
        "application/toml": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
    },
)
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
    is_json = name.endswith(".json") or (request.mimetype or "").endswith("json")
    fmt: Literal["json"] | None = "json" if is_json else None
    return jsonify(shaping.import_protocol(coord(), text, fmt=fmt)), 201


@bp.get("/preview")
@role_required("clinician")
@contract(
    "A level compiled: steps and intensity against time per actuator (clinician)",
    query=m.PreviewQuery,
    ok=r.PreviewOut,
    errors=(404,),
)
def preview(query: m.PreviewQuery) -> Any:
    return jsonify(shaping.preview(coord(), query.protocol, query.level))


@bp.post("/plan")
@role_required("clinician")
@contract("Assign a protocol and level (clinician)", body=m.PlanIn, ok=r.PlanOut, errors=(404, 409))
def plan(body: m.PlanIn) -> Any:
    return jsonify(
        coord().assign(
            body.protocol.strip(), body.level.strip(), by=actor(), revision=body.revision
        )
    )


@bp.post("/plan/caps")
@role_required("clinician")
@contract(
    "Set the clinician's caps for this patient (clinician); never looser than the "
    "protocol's, the patient's settings re-clamped to them",
    body=m.CapsIn,
    ok=r.CapsOut,
    errors=(409, *STATION),
)
def plan_caps(body: m.CapsIn) -> Any:
    changes = body.model_dump(exclude_unset=True)
    revision = changes.pop("revision", None)
    return jsonify(coord().set_caps(changes, by=actor(), revision=revision))


@bp.post("/plan/sites")
@role_required("clinician")
@contract(
    "Place actuators on this patient's body sites (clinician); refused whole when a step "
    "would then drive an actuator on one of the protocol's avoid_sites",
    body=m.SitesIn,
    ok=r.SitesOut,
)
def plan_sites(body: m.SitesIn) -> Any:
    return jsonify(coord().set_sites(dict(body.sites), by=actor()))


@bp.get("/hardware/calibration")
@role_required("clinician")
@contract(
    "Stored DRV2605L auto-calibration per haptic actuator (clinician)",
    ok=r.CalibrationOut,
    errors=STATION,
)
def calibration() -> Any:
    """The stored DRV2605L auto-calibration per haptic actuator (clinician)."""
    return jsonify(coord().calibration())


@bp.post("/hardware/calibrate")
@role_required("clinician")
@contract(
    "Auto-calibrate one haptic actuator through the engine (~1.1 s, it vibrates) and "
    "store the results (clinician); refused while a session is running or paused, or "
    "when the calibration fails (message says why)",
    body=m.CalibrateIn,
    ok=r.CalibrateOut,
    errors=STATE,
    allowed={"actuator": lambda: coord().calibratable()},
)
def calibrate(body: m.CalibrateIn) -> Any:
    """Run one haptic actuator's auto-calibration through the engine (~1.1 s; it
    vibrates) and store the results; refused while a session runs or is paused."""
    return jsonify(coord().calibrate(body.actuator, by=actor()))


@bp.get("/events")
@login_required_any
@contract(
    "Server-sent events: status, step_started, step_finished, stopped, state, fault",
    ok=r.ServerEvent,
    content_type="text/event-stream",
    errors=(429,),
)
def events() -> Response:
    """Server-sent events: the station's state and step changes, pushed as they happen."""
    max_seconds = current_app.config["SSE_MAX_SECONDS"]
    heartbeat = current_app.config["SSE_HEARTBEAT_SECONDS"]
    per_user = current_app.config["SSE_PER_USER"]
    sub = coord().subscribe_limited(key=f"user:{current_user.get_id()}", limit=per_user)
    if sub is None:  # each stream holds a server thread: one account may not take them all
        raise ApiError(
            429,
            "too_many_streams",
            f"this account already has {per_user} event streams open (the most allowed at "
            "once); close another tab or device showing the station, or wait "
            f"{heartbeat} s for a closed one to be noticed, then reload",
            allowed=per_user,
        )

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
    resp.call_on_close(sub.close)  # also when the stream never started (the client left)
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp


def _sse(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n"
