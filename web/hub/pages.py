"""The hub's HTML pages: stations and alarms, a station (sessions, pushes), a patient."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from station.hub import alarms, queries
from web.errors import ApiError
from web.hub import api
from web.hub.models import PushIn
from web.security import role_required

bp = Blueprint("hub", __name__)
clinician = role_required("clinician")


@bp.route("/login", methods=["GET", "POST"])
def login_page() -> Any:
    error = None
    if request.method == "POST":
        user = api.authenticate(request.form.get("name", ""), request.form.get("password", ""))
        if user is None:
            error = api.WRONG
        else:
            api.start_session(user)
            return redirect(url_for("hub.overview"))
    return render_template("hub/login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout_page() -> Any:
    api.end_session()
    return redirect(url_for("hub.login_page"))


@bp.get("/")
@clinician
def overview() -> Any:
    store = api.store()
    return render_template(
        "hub/overview.html",
        stations=queries.station_list(store),
        patients=queries.patient_list(store),
        alarms=alarms.all_alarms(store),
        user=current_user,
    )


@bp.route("/stations/<station_id>", methods=["GET", "POST"])
@clinician
def station_page(station_id: str) -> Any:
    sid = api._station(station_id)
    error = None
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k != "csrf_token" and v != ""}
        if "levels" in form:
            try:
                form["levels"] = json.loads(form["levels"])
            except ValueError:
                error = 'levels: not JSON; write it like {"main": 2}'
        if error is None:
            try:
                body = PushIn.model_validate(form)
                api.send_push(station_id=sid, body=body)
                return redirect(url_for("hub.station_page", station_id=sid))
            except ApiError as exc:
                error = exc.message
            except ValueError as exc:
                error = str(exc)
    store = api.store()
    return render_template(
        "hub/station.html",
        station_id=sid,
        sessions=queries.sessions_of_station(store, sid)[:50],
        pushes=store.pushes_of(station_id=sid),
        error=error,
    ), (422 if error else 200)


@bp.get("/patients/<patient_id>")
@clinician
def patient_page(patient_id: str) -> Any:
    pid = api._patient(patient_id)
    store = api.store()
    return render_template(
        "hub/patient.html",
        p=queries.patient_summary(store, pid),
        alarms=alarms.patient_alarms(store, pid),
    )
