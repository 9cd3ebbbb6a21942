"""Measured thresholds: the measurement page, its API, and the simulated patient.

``POST /api/thresholds/measure {"actuator", "kind"}`` starts a measurement played on the
engine (``station.app.threshold_run``); ``POST /api/thresholds/answer {"felt": bool}``
(``{"manageable": bool}`` for the tolerance probe) answers the trial just played;
``GET /api/thresholds`` is the measurement under way, the thresholds in force and the
history. A clinician measures anything; a patient measures the detection threshold of an
actuator their plan writes as a multiple of a threshold. ``/api/sim/patient`` (simulator
only) sets the simulated patient who answers from what the chips really drove.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user

from web import threshold_models as tm
from web.contract import contract
from web.errors import ApiError
from web.security import actor, login_required_any, role_required

bp = Blueprint("thresholds", __name__)
STATE = (409, 503)


def _runner() -> Any:
    return current_app.extensions["station.app.coordinator"].thresholds


@bp.get("/thresholds")
@login_required_any
def thresholds_page() -> Any:
    return render_template("thresholds.html", overview=_runner().overview())


@bp.get("/api/thresholds")
@login_required_any
@contract("The threshold measurement under way, thresholds in force and history",
          ok=tm.ThresholdsOut)  # fmt: skip
def thresholds_overview() -> Any:
    return jsonify(_runner().overview())


@bp.post("/api/thresholds/measure")
@role_required("patient", "clinician")
@contract(
    "Start measuring a threshold on one haptic actuator: trials played by the engine, "
    "never above min(device limit, cap, patient setting); a stop aborts it and stores "
    "nothing (clinician; a patient: the detection threshold their plan needs)",
    body=tm.MeasureIn,
    ok=tm.MeasurementOut,
    errors=STATE,
    allowed={"actuator": lambda: _runner().haptics()},
)
def threshold_measure(body: tm.MeasureIn) -> Any:
    runner = _runner()
    if current_user.role != "clinician":
        needed = sorted(runner.needed_actuators())
        if body.kind != "detection":
            raise ApiError(403, "forbidden", "only a clinician runs the tolerance probe",
                           field="kind", value=body.kind, allowed=["detection"])  # fmt: skip
        if body.actuator not in needed:
            raise ApiError(
                403, "forbidden",
                f"actuator = {body.actuator!r}: your plan needs no threshold there; a patient "
                f"measures only {', '.join(needed) or 'none (ask your clinician)'}",
                field="actuator", value=body.actuator, allowed=needed,
            )  # fmt: skip
    return jsonify(runner.begin(body.actuator, body.kind, by=actor()))


@bp.post("/api/thresholds/answer")
@role_required("patient", "clinician")
@contract(
    "Answer the trial just played: felt (detection) or manageable (tolerance)",
    body=tm.AnswerIn,
    ok=tm.MeasurementOut,
    errors=STATE,
)
def threshold_answer(body: tm.AnswerIn) -> Any:
    return jsonify(_runner().answer(felt=body.felt, manageable=body.manageable, by=actor()))


@bp.get("/api/sim/patient")
@contract("The simulated patient (simulator only)", ok=tm.SimPatientOut, errors=(404, 503))
def sim_patient_get() -> Any:
    return jsonify(_runner().sim_patient(None))


@bp.post("/api/sim/patient")
@contract(
    "Set the simulated patient: hidden thresholds, noise, seed (simulator only)",
    body=tm.SimPatientIn,
    ok=tm.SimPatientOut,
    errors=(404, 422, 503),
)
def sim_patient_set(body: tm.SimPatientIn) -> Any:
    return jsonify(_runner().sim_patient(body.model_dump()))
