"""The clinician's area: protocols, the patient's plan and caps, records and exports.

Every route here is clinician-only (tests walk the url map to prove a patient gets 403 on
each). Forms post back to the same page so validation errors show next to the field they
name, and a failed protocol keeps its text in the editor to be fixed.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from station.errors import ConfigError, StationError
from web import clinic_audit, clinic_report, clinic_shape, shaping
from web.auth import create_user
from web.errors import ApiError, from_station_error
from web.security import actor, role_required

bp = Blueprint("clinician", __name__, url_prefix="/clinician")


@bp.before_request
@role_required("clinician")
def _clinician_only() -> None:
    """Guard every route of the blueprint, including ones added later."""
    return None


def _coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


@bp.get("/")
def overview() -> Any:
    """The clinician's landing page: the patients (adherence, last session; choose one),
    then the ACTIVE patient's plan, caps, ranking and sessions. Why the active patient and
    not ``?patient=``: a plan change re-arms the engine's next session, and the ranking
    form and the panel's start act for the active patient, so the page that writes must
    be about the patient the station works for; read-only pages (report, audit) take
    ``?patient=``."""
    coord = _coord()
    store = coord.store
    plan = store.plans.get()
    return render_template(
        "clinician.html",
        status=coord.status(),
        patient=store.patients.get(store.patient_id),
        patients=clinic_shape.desk(coord),
        choices=clinic_shape.protocol_choices(coord.data_dir),
        plan_key=f"{plan.protocol_id}@{plan.protocol_version}" if plan else "",
        settings=shaping.get_settings(coord),
        sessions=clinic_shape.session_rows(store, limit=20),
        inbox=coord.inbox(),
        calibration=_calibration_rows(coord),
    )


def _calibration_rows(coord: Any) -> dict[str, Any]:
    """One row per haptic actuator (from the wiring) with what the engine has stored;
    the page still lists the buttons when the engine cannot be asked."""
    try:
        listing = coord.calibration().get("actuators", {})
        error = None
    except StationError as exc:
        listing, error = {}, str(exc)
    rows = [
        {
            "name": h.name,
            "kind": h.actuator.upper(),
            "stored": (listing.get(h.name) or {}).get("stored"),
            "pinned": (listing.get(h.name) or {}).get("pinned_in_wiring", False),
        }
        for h in coord.planner.wiring.haptic
    ]
    return {"rows": rows, "error": error}


@bp.post("/calibrate")
def calibrate() -> Any:
    """The button's form (without JavaScript): run it, then show the result as a flash.
    With JavaScript the page calls POST /api/hardware/calibrate and shows it in place."""
    actuator = request.form.get("actuator", "")
    try:
        out = _coord().calibrate(actuator, by=actor())
    except StationError as exc:
        flash(_("Calibration of %(actuator)s not done: %(why)s", actuator=actuator, why=exc),
              "error")  # fmt: skip
    else:
        flash(
            _(
                "%(actuator)s calibrated: A_CAL_COMP %(comp)s, A_CAL_BEMF %(bemf)s, "
                "BEMF_GAIN %(gain)s; stored and restored at every start.",
                actuator=out["actuator"], comp=out["compensation"], bemf=out["back_emf"],
                gain=out["back_emf_gain"],
            )
        )  # fmt: skip
    return redirect(url_for("clinician.overview"))


@bp.post("/plan")
def assign() -> Any:
    """Assign ``protocol`` (``id@version``: the version chosen is the one assigned) at
    ``level``; the answer says what the next session will play."""
    coord = _coord()
    protocol_id, version = clinic_shape.split_key(request.form.get("protocol", ""))
    version = request.form.get("version") or version
    try:
        out = coord.assign(protocol_id, request.form.get("level", ""), by=actor(),
                           version=version)  # fmt: skip
    except StationError as exc:
        flash(_("Not assigned: %(why)s", why=exc), "error")
    else:
        name = coord.store.patients.get(coord.store.patient_id).display_name
        flash(_("Plan assigned for %(name)s: %(protocol)s v%(version)s at %(level)s; the next "
                "session is armed.", name=name, protocol=out["protocol_id"],
                version=out["version"], level=_level_words(coord, out)))  # fmt: skip
    return redirect(url_for("clinician.overview"))


def _level_words(coord: Any, out: dict[str, Any]) -> str:
    key = f"{out['ladder']}/{out['level_index']}"
    try:
        pv = shaping.preview(coord, out["protocol_id"], key, version=out["version"])
    except StationError:
        return key
    return (f"\"{pv['level_name']}\" ({len(pv['steps'])} steps, "
            f"{round(pv['duration_ms'] / 60000, 1):g} min)")  # fmt: skip


@bp.post("/caps")
def caps() -> Any:
    changes: dict[str, Any] = {}
    revision: int | None = None
    for key, raw in request.form.items():
        if key == "csrf_token" or raw == "":
            continue
        if key == "revision":  # the plan as the page showed it: a newer one refuses
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
                flash(_("Caps not saved: revision must be a whole number (got %(raw)r)", raw=raw),
                      "error")  # fmt: skip
                return redirect(url_for("clinician.overview"))
            revision = int(raw)
            continue
        try:
            changes[key] = float(raw)
        except ValueError:
            flash(_("Caps not saved: %(key)s must be a number (got %(raw)r)", key=key, raw=raw),
                  "error")  # fmt: skip
            return redirect(url_for("clinician.overview"))
    try:
        out = _coord().set_caps(changes, by=actor(), revision=revision)
    except StationError as exc:
        flash(_("Caps not saved: %(why)s", why=exc), "error")
    else:
        notes = "".join(" " + _("Note: %(what)s.", what=c) for c in out.get("clamped", []))
        flash(_("Caps saved.") + notes)
    return redirect(url_for("clinician.overview"))


@bp.post("/users")
def add_user() -> Any:
    """A clinician account, or a patient account for the patient record chosen in the
    form (``patient_id``; default: the active patient)."""
    role = request.form.get("role", "patient")
    patient_id: int | None = None
    if role == "patient":
        raw = request.form.get("patient_id", "")
        try:
            patient_id = clinic_shape.reviewed_patient(_coord(), raw).id
        except (ApiError, StationError) as exc:
            flash(_("Account not created: %(why)s", why=getattr(exc, "message", exc)), "error")
            return redirect(url_for("clinician.overview") + "#users-h")
    try:
        user = create_user(
            request.form.get("name", ""), role, request.form.get("password", ""),
            patient_id=patient_id,
        )  # fmt: skip
    except ApiError as exc:
        flash(_("Account not created: %(why)s", why=exc.message), "error")
    else:
        whose, for_whom = "", ""
        if patient_id is not None:
            for_whom = _coord().store.patients.get(patient_id).display_name
            whose = f" for {for_whom}"
        clinic_audit.note("account", f"account {user.name} ({user.role}){whose} created",
                          patient_id=patient_id)  # fmt: skip
        flash(_("Account %(name)s (%(role)s) for %(patient)s created.", name=user.name,
                role=_(user.role), patient=for_whom) if for_whom else
              _("Account %(name)s (%(role)s) created.", name=user.name, role=_(user.role)))
    if request.form.get("back") == "patients":
        return redirect(url_for("patients.page"))
    return redirect(url_for("clinician.overview"))


@bp.route("/protocols", methods=["GET", "POST"])
def protocols() -> Any:
    """Upload (file) or edit (text) a protocol; problems listed field by field."""
    coord = _coord()
    text = request.args.get("text", "")
    problems: list[dict[str, Any]] = []
    status = 200
    if request.args.get("edit"):
        text = shaping.protocol_text(coord, request.args["edit"])
    if request.method == "POST":
        upload = request.files.get("file")
        fmt: Literal["json"] | None
        if upload and upload.filename:
            text = upload.read().decode("utf-8", errors="replace")
            fmt = "json" if upload.filename.endswith(".json") else None
        else:
            text = request.form.get("text", "")
            fmt = None
        try:
            info = shaping.import_protocol(coord, text, fmt=fmt)
        except ConfigError as exc:
            problems = [p.as_dict() for p in exc.problems]
            status = 422
        except StationError as exc:
            problems = [{"field": "", "message": from_station_error(exc).message}]
            status = 422
        else:
            flash(_("Protocol %(id)s version %(version)s saved.", id=info.get("id"),
                    version=info.get("version")))  # fmt: skip
            return redirect(url_for("clinician.protocols"))
    return (
        render_template(
            "protocols.html", protocols=shaping.protocols(coord), text=text, problems=problems
        ),
        status,
    )


@bp.get("/preview")
def preview() -> Any:
    protocol_id, version = clinic_shape.split_key(request.args.get("protocol", ""))
    version = request.args.get("version") or version
    level = request.args.get("level", "")
    data = (
        shaping.preview(_coord(), protocol_id, level, version=version)
        if protocol_id and level
        else None
    )
    return render_template(
        "preview.html", data=data, choices=clinic_shape.protocol_choices(_coord().data_dir)
    )


@bp.get("/sessions/<int:session_id>")
def session(session_id: int) -> Any:
    return render_template("session.html", s=_coord().get_session(session_id))


@bp.get("/report")
def report() -> Any:
    """One patient's report (``?patient=``, ``?from=``, ``?to=``: ``web.clinic_report``)."""
    return clinic_report.page(request.args)


@bp.get("/report.pdf")
def report_pdf() -> Response:
    body, name = clinic_report.pdf(request.args)
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename={name}"})  # fmt: skip


@bp.get("/audit")
def audit() -> Any:
    """Who changed what, newest first (``?patient=``: one patient's and the station's)."""
    return clinic_audit.page(request.args)


@bp.get("/export.json")
def export_json() -> Response:
    body = shaping.export_body(_coord(), "json")
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": "attachment; filename=station-export.json"},
    )


@bp.get("/export.csv")
def export_csv() -> Response:
    body = shaping.export_body(_coord(), "csv")
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=station-export.csv"},
    )
