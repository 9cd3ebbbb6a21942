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

from station.errors import ConfigError, StationError
from web import shaping
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
    coord = _coord()
    return render_template(
        "clinician.html",
        status=coord.status(),
        protocols=shaping.protocols(coord),
        settings=shaping.get_settings(coord),
        sessions=coord.list_sessions(limit=20),
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
        flash(f"Calibration of {actuator} not done: {exc}", "error")
    else:
        flash(
            f"{out['actuator']} calibrated: A_CAL_COMP {out['compensation']}, A_CAL_BEMF "
            f"{out['back_emf']}, BEMF_GAIN {out['back_emf_gain']}; stored and restored at "
            "every start."
        )
    return redirect(url_for("clinician.overview"))


@bp.post("/plan")
def assign() -> Any:
    try:
        _coord().assign(request.form.get("protocol", ""), request.form.get("level", ""), by=actor())
    except StationError as exc:
        flash(f"Not assigned: {exc}", "error")
    else:
        flash("Plan assigned; the next session is armed.")
    return redirect(url_for("clinician.overview"))


@bp.post("/caps")
def caps() -> Any:
    changes: dict[str, Any] = {}
    for key, raw in request.form.items():
        if key == "csrf_token" or raw == "":
            continue
        try:
            changes[key] = float(raw)
        except ValueError:
            flash(f"{key} must be a number (got {raw!r})", "error")
            return redirect(url_for("clinician.overview"))
    try:
        _coord().set_caps(changes, by=actor())
    except StationError as exc:
        flash(f"Caps not saved: {exc}", "error")
    else:
        flash("Caps saved.")
    return redirect(url_for("clinician.overview"))


@bp.post("/users")
def add_user() -> Any:
    try:
        user = create_user(
            request.form.get("name", ""),
            request.form.get("role", "patient"),
            request.form.get("password", ""),
        )
    except ApiError as exc:
        flash(f"Account not created: {exc.message}", "error")
    else:
        flash(f"Account {user.name} ({user.role}) created.")
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
            flash(f"Protocol {info.get('id')} version {info.get('version')} saved.")
            return redirect(url_for("clinician.protocols"))
    return (
        render_template(
            "protocols.html", protocols=shaping.protocols(coord), text=text, problems=problems
        ),
        status,
    )


@bp.get("/preview")
def preview() -> Any:
    protocol_id = request.args.get("protocol", "")
    level = request.args.get("level", "")
    data = shaping.preview(_coord(), protocol_id, level) if protocol_id and level else None
    return render_template("preview.html", data=data, protocols=shaping.protocols(_coord()))


@bp.get("/sessions/<int:session_id>")
def session(session_id: int) -> Any:
    return render_template("session.html", s=_coord().get_session(session_id))


@bp.get("/report")
def report() -> Any:
    return render_template("report.html", report=shaping.report(_coord()))


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
