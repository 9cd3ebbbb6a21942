"""The hub's JSON API under /api/ (clinicians only, except login)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, session
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from station.errors import StationError
from station.hub import alarms, export, outcomes, queries
from station.hub import messages as m
from web import openapi
from web import responses as station_responses
from web.contract import contract
from web.errors import ApiError
from web.hub import responses as out
from web.hub.models import ExportQuery, PushIn
from web.models import LoginIn
from web.security import LoginUser, role_required, verify_nobody, verify_password

bp = Blueprint("hubapi", __name__)
clinician = role_required("clinician")
WRONG = "Wrong name or password"
STATION_PATH = {"station_id": {"type": "string", "pattern": m.STATION_ID}}
PATIENT_PATH = {"patient_id": {"type": "string", "minLength": 1, "maxLength": 36}}


def store() -> Any:
    return current_app.extensions["hub.store"]


def authenticate(name: str, password: str) -> LoginUser | None:
    """Every path costs one argon2 verification (timing tells nothing about names)."""
    record = store().user(name=name.strip()) if len(name) <= 64 else None
    if record is None:
        verify_nobody(password)
        return None
    if not verify_password(record["password_hash"], password) or record["disabled"]:
        return None
    return LoginUser.from_record(record)


def start_session(user: LoginUser) -> None:
    session.clear()
    login_user(user)


def end_session() -> None:
    if current_user.is_authenticated:
        store().bump_epoch(user_id=current_user.user_id)
    logout_user()
    session.clear()


@bp.post("/api/login")
@contract(
    "Log in; returns the csrf_token to send as X-CSRFToken",
    body=LoginIn,
    ok=out.LoginOut,
    errors=(401, 429),
    csrf=False,
    json_only=True,
)
def api_login(body: LoginIn) -> Any:
    user = authenticate(body.name, body.password)
    if user is None:
        raise ApiError(401, "unauthenticated", "wrong name or password")
    start_session(user)
    return jsonify({"user": {"name": user.name, "role": user.role}, "csrf_token": generate_csrf()})


@bp.post("/api/logout")
@clinician
@contract("Log out", ok=out.LogoutOut)
def api_logout() -> Any:
    end_session()
    return jsonify({"logged_out": True})


def _station(station_id: str) -> str:
    if not re.fullmatch(m.STATION_ID, station_id) or not queries.station_exists(
        store(), station_id
    ):
        raise ApiError(
            404,
            "not_found",
            f"no station {station_id!r} has reported to this hub",
            field="station_id",
            value=station_id,
        )
    return station_id


def _patient(patient_id: str) -> str:
    if len(patient_id) > 36 or not queries.patient_exists(store(), patient_id):
        raise ApiError(
            404,
            "not_found",
            f"no records of patient {patient_id!r} at this hub",
            field="patient_id",
            value=patient_id,
        )
    return patient_id


@bp.get("/api/hub/stations")
@clinician
@contract("Every station: id, online, last seen, last fault", ok=out.StationsOut)
def stations() -> Any:
    return jsonify({"stations": queries.station_list(store())})


@bp.get("/api/hub/stations/<station_id>/sessions")
@clinician
@contract(
    "A station's sessions, newest first, each with its global id",
    ok=out.StationSessionsOut,
    errors=(404,),
    path=STATION_PATH,
)
def station_sessions(station_id: str) -> Any:
    sid = _station(station_id)
    return jsonify({"station_id": sid, "sessions": queries.sessions_of_station(store(), sid)})


@bp.get("/api/hub/stations/<station_id>/pushes")
@clinician
@contract(
    "Pushes to a station with their acknowledgement",
    ok=out.PushesOut,
    errors=(404,),
    path=STATION_PATH,
)
def station_pushes(station_id: str) -> Any:
    sid = _station(station_id)
    return jsonify({"station_id": sid, "pushes": store().pushes_of(station_id=sid)})


@bp.post("/api/hub/stations/<station_id>/push")
@clinician
@contract(
    "Push a protocol or a plan to a station (retained until replaced)",
    body=PushIn,
    ok=out.PushOut,
    status=202,
    errors=(404, 503),
    path=STATION_PATH,
)
def push(station_id: str, body: PushIn) -> Any:
    msg = send_push(station_id=_station(station_id), body=body)
    resp = jsonify(
        {"push_id": str(msg.id), "station_id": msg.station_id, "kind": msg.kind, "outcome": None}
    )
    resp.status_code = 202
    return resp


def send_push(*, station_id: str, body: PushIn) -> m.ProtocolPush | m.PlanPush:
    by = f"clinician:{current_user.name}"
    msg: m.ProtocolPush | m.PlanPush
    if body.kind == "protocol":
        msg = m.ProtocolPush(
            station_id=station_id, protocol_id=body.protocol_id, document=body.document or "", by=by
        )
    else:
        assert body.patient_id is not None
        msg = m.PlanPush(
            station_id=station_id,
            patient_id=body.patient_id,
            protocol_id=body.protocol_id,
            protocol_version=body.protocol_version,
            levels=body.levels,
            by=by,
        )
    pusher = current_app.extensions["hub.pusher"]
    if pusher is None:
        raise ApiError(503, "unavailable", "this hub has no broker connection for pushes")
    try:
        pusher.push(push=msg, by=by)
    except StationError as exc:
        raise ApiError(503, "unavailable", str(exc)) from None
    return msg


@bp.get("/api/hub/patients")
@clinician
@contract("Every patient (pseudonymous id) with their station", ok=out.PatientsOut)
def patients() -> Any:
    return jsonify({"patients": queries.patient_list(store())})


@bp.get("/api/hub/patients/<patient_id>")
@clinician
@contract(
    "A patient: adherence, rating trend, level history, last sessions, alarms",
    ok=out.PatientOut,
    errors=(404,),
    path=PATIENT_PATH,
)
def patient(patient_id: str) -> Any:
    pid = _patient(patient_id)
    out = queries.patient_summary(store(), pid)
    out["alarms"] = alarms.patient_alarms(store(), pid)
    out["outcomes"] = outcomes.trends(store(), pid)
    return jsonify(out)


@bp.get("/api/hub/alarms")
@clinician
@contract(
    "Alarms from the rules (two stops, rising ratings, missed days, faults)", ok=out.AlarmsOut
)
def alarm_list() -> Any:
    return jsonify({"alarms": alarms.all_alarms(store())})


@bp.get("/api/hub/patients/<patient_id>/export")
@clinician
@contract(
    "A patient's record as csv, json or a FHIR R4 Bundle of Observations",
    query=ExportQuery,
    errors=(404,),
    path=PATIENT_PATH,
    also_content=out.EXPORT_CONTENT,
)
def patient_export(patient_id: str, query: ExportQuery) -> Any:
    pid = _patient(patient_id)
    text = export.render(store=store(), patient_id=pid, fmt=query.format)
    mime = {"csv": "text/csv", "json": "application/json", "fhir": "application/fhir+json"}
    return Response(
        text,
        mimetype=mime[query.format],
        headers={"Content-Disposition": f'attachment; filename="patient-{pid}.{query.format}"'},
    )


HUB_INFO = {
    "title": "Clinic hub API",
    "description": "JSON API of the clinic hub (clinician accounts only). State-changing "
    "calls need the X-CSRFToken header (from POST /api/login).",
}


@bp.get("/api/openapi.json", endpoint="document")
@contract("This document", ok=station_responses.Document)
def document_view() -> Any:
    """Generated from the hub's own routes and models by the station's generator."""
    return jsonify(openapi.document(current_app, info=HUB_INFO))
