"""Several patients on one station: the patients API and page, and the request scope.

Every request of a patient ACCOUNT acts for that account's patient record
(``station.app.patients``): set here for the whole request, before any view runs, so no
view can forget it; the coordinator's store then holds only that patient's plan,
sessions, ratings, journal, settings, ranking, thresholds, history and report. A
clinician works for the active patient, chosen with ``POST /api/patients/<id>/activate``
(or the page's "Choose" button). A patient asking for another patient's record gets 404,
exactly as for one that does not exist.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from typing import Annotated, Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field

from station.app import patient_desk
from station.app.patients import enter_request, leave_request
from station.errors import InvalidInput, StationError
from web import models as m
from web import responses as r
from web.auth import create_user
from web.clinic_audit import note  # who changed what
from web.contract import contract
from web.errors import ApiError
from web.security import actor, login_required_any, role_required

bp = Blueprint("patients", __name__)
NAME_MAX = 64
NOTES_MAX = 4000
PATIENT_ID = {"patient_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}


def _coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


# -- the request's patient ---------------------------------------------------------------


@bp.before_app_request
def _act_for_own_patient() -> None:
    user = current_user
    own = getattr(user, "patient_id", None) if user.is_authenticated else None
    if user.is_authenticated and user.role == "patient" and own is None:
        raise ApiError(403, "forbidden", "this patient account belongs to no patient record; "
                       "ask the clinician to link it")  # fmt: skip
    g.station_patient_token = enter_request(own if user.is_authenticated else None)


@bp.teardown_app_request
def _leave(_exc: BaseException | None) -> None:
    token = g.pop("station_patient_token", None)
    if token is not None:
        with suppress(ValueError):  # reset from another context (a streamed response's end)
            leave_request(token)


# -- models --------------------------------------------------------------------------------


class PatientIn(m.Strict):
    display_name: Annotated[str, Field(min_length=1, max_length=NAME_MAX, pattern=r"\S")]
    notes: Annotated[str, Field(max_length=NOTES_MAX)] = ""
    enrolled_on: date | None = None


class PatientChange(m.Strict):
    display_name: Annotated[str, Field(min_length=1, max_length=NAME_MAX, pattern=r"\S")] | None = (
        None
    )
    notes: Annotated[str, Field(max_length=NOTES_MAX)] | None = None
    archived: bool | None = None


class AccountIn(m.Strict):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class PatientOut(r.Open):
    id: int
    global_id: str
    display_name: str
    notes: str
    enrolled_on: str
    archived: bool
    active: bool
    last_session: dict[str, Any] | None
    adherence: dict[str, Any]


class PatientsOut(r.Closed):
    patients: list[PatientOut]


class ActivateOut(PatientOut):
    status: r.Status


class AccountOut(r.Closed):
    name: str
    role: str
    patient_id: int


# -- API -------------------------------------------------------------------------------------


@bp.get("/api/patients")
@role_required("clinician")
@contract("The station's patients with adherence and last session (clinician)", ok=PatientsOut)
def list_patients() -> Any:
    return jsonify({"patients": patient_desk.overview(_coord())})


@bp.post("/api/patients")
@role_required("clinician")
@contract("Add a patient record (clinician)", body=PatientIn, ok=PatientOut, status=201,
          errors=(409,))  # fmt: skip
def add_patient(body: PatientIn) -> Any:
    coord = _coord()
    p = coord.store.patients.add(
        body.display_name.strip(), notes=body.notes, enrolled_on=body.enrolled_on
    )
    note("patient", f"patient {p.display_name} added", patient_id=p.id)
    return jsonify(patient_desk.summary(coord, p)), 201


@bp.get("/api/patients/<int:patient_id>")
@login_required_any
@contract("One patient (a patient account: only its own)", ok=PatientOut, errors=(404,),
          path=PATIENT_ID)  # fmt: skip
def get_patient(patient_id: int) -> Any:
    coord = _coord()
    return jsonify(patient_desk.summary(coord, coord.store.patients.get(_visible(patient_id))))


@bp.patch("/api/patients/<int:patient_id>")
@role_required("clinician")
@contract("Change a patient's notes, name or archived flag (clinician)", body=PatientChange,
          ok=PatientOut, errors=(404, 409), path=PATIENT_ID)  # fmt: skip
def change_patient(patient_id: int, body: PatientChange) -> Any:
    coord = _coord()
    patients = coord.store.patients
    if body.notes is not None or body.display_name is not None:
        name = body.display_name.strip() if body.display_name is not None else None
        patients.update(patient_id, notes=body.notes, display_name=name)
    if body.archived is not None:
        if body.archived and patient_id == coord.patients.active():
            raise ApiError(409, "conflict", "this patient is the active one; choose another "
                           "patient first, then archive this one", field="archived")  # fmt: skip
        patients.archive(patient_id, archived=body.archived)
    return jsonify(patient_desk.summary(coord, patients.get(patient_id)))


@bp.post("/api/patients/<int:patient_id>/activate")
@role_required("clinician")
@contract("Choose the patient the station works for; arms their next session (clinician)",
          ok=ActivateOut, errors=(404, 409, 503), path=PATIENT_ID)  # fmt: skip
def activate(patient_id: int) -> Any:
    out = patient_desk.activate(_coord(), patient_id, by=actor())
    note("patient", f"{out['display_name']} chosen: the station works for them",
         patient_id=patient_id)  # fmt: skip
    return jsonify(out)


@bp.post("/api/patients/<int:patient_id>/accounts")
@role_required("clinician")
@contract("Create a patient account for this patient record (clinician)", body=AccountIn,
          ok=AccountOut, status=201, errors=(404, 409), path=PATIENT_ID)  # fmt: skip
def add_account(patient_id: int, body: AccountIn) -> Any:
    _coord().store.patients.get(patient_id)  # 404 before anything is made
    user = create_user(body.name, "patient", body.password, patient_id=patient_id)
    note("account", f"account {user.name} (patient) created", patient_id=patient_id)
    return jsonify({"name": user.name, "role": user.role, "patient_id": patient_id}), 201


def _visible(patient_id: int) -> int:
    """A patient account sees only its own record: any other id is 404, as if absent."""
    own = getattr(current_user, "patient_id", None)
    if current_user.role == "patient" and own != patient_id:
        raise ApiError(404, "not_found", f"no patient {patient_id}", field="patient_id")
    return patient_id


# -- page ------------------------------------------------------------------------------------


@bp.get("/clinician/patients")
@role_required("clinician")
def page() -> Any:
    from web.clinic_shape import desk

    return render_template("patients.html", patients=desk(_coord()))


@bp.post("/clinician/patients/<int:patient_id>/activate")
@role_required("clinician")
def activate_form(patient_id: int) -> Any:
    try:
        p = patient_desk.activate(_coord(), patient_id, by=actor())
    except StationError as exc:
        flash(_("Patient not chosen: %(why)s", why=exc), "error")
    else:
        note("patient", f"{p['display_name']} chosen: the station works for them",
             patient_id=patient_id)  # fmt: skip
        flash(_("The station now works for %(name)s.", name=p["display_name"]))
    return redirect(url_for("patients.page"))


@bp.post("/clinician/patients")
@role_required("clinician")
def add_form() -> Any:
    try:
        p = _coord().store.patients.add(
            request.form.get("display_name", "").strip(), notes=request.form.get("notes", "")
        )
    except (StationError, InvalidInput) as exc:
        flash(_("Patient not added: %(why)s", why=exc), "error")
    else:
        note("patient", f"patient {p.display_name} added", patient_id=p.id)
        flash(_("Patient %(name)s added.", name=p.display_name))
    return redirect(url_for("patients.page"))
