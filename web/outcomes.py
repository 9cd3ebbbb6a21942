"""Outcome measures on the clinician's schedule: the page and ``/api/outcomes``.

The clinician sets which measures are wanted and every how many days
(``POST /api/outcomes/schedule``); the page shows what is due, VAS sliders (0-100 at
rest, in use, on touch), a "flare" button with a note and optional medication entries.
Trends of every measure are in ``GET /api/outcomes``, the clinician's report and the
exports (``station.storage.outcome_report``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from station.storage import outcome_report
from web import outcome_models as om
from web.contract import contract
from web.security import actor, login_required_any, role_required

bp = Blueprint("outcomes", __name__)


def _store() -> Any:
    return current_app.extensions["station.app.coordinator"].store


def overview() -> dict[str, Any]:
    data = outcome_report.report(_store())
    data.pop("body_maps", None)  # GET /api/bodymap has them
    return data


@bp.get("/outcomes")
@login_required_any
def page() -> Any:
    return render_template("outcomes.html", data=overview(), labels=outcome_report.LABELS)


@bp.get("/api/outcomes")
@login_required_any
@contract(
    "The outcome schedule with what is due now, each measure's trend, flares, medication "
    "and every entry (oldest first)",
    ok=om.OutcomesOut,
)
def get_outcomes() -> Any:
    return jsonify(overview())


@bp.post("/api/outcomes/schedule")
@role_required("clinician")
@contract(
    "Set the outcome schedule (clinician): every how many days each measure is asked "
    "for; a measure left out or null is no longer asked for",
    body=om.ScheduleIn,
    ok=om.OutcomesOut,
)
def set_schedule(body: om.ScheduleIn) -> Any:
    every = {k: d for k, d in body.model_dump().items() if d is not None}
    _store().outcomes.set_schedule(every, by=actor())
    return jsonify(overview())


@bp.post("/api/outcomes/vas")
@role_required("patient", "clinician")
@contract(
    "Record pain on a 0-100 visual analogue scale at rest, in use and/or on touch (at least one)",
    body=om.VasIn,
    ok=om.EntryOut,
    status=201,
)
def add_vas(body: om.VasIn) -> Any:
    entry = _store().outcomes.add_vas(
        rest=body.rest, use=body.use, touch=body.touch, note=body.note, by=actor()
    )
    return jsonify(entry.as_dict()), 201


@bp.post("/api/outcomes/flare")
@role_required("patient", "clinician")
@contract("Record a flare, with a note", body=om.FlareIn, ok=om.EntryOut, status=201)
def add_flare(body: om.FlareIn) -> Any:
    return jsonify(_store().outcomes.add_flare(note=body.note, by=actor()).as_dict()), 201


@bp.post("/api/outcomes/medication")
@role_required("patient", "clinician")
@contract("Record a medication taken", body=om.MedicationIn, ok=om.EntryOut, status=201)
def add_medication(body: om.MedicationIn) -> Any:
    entry = _store().outcomes.add_medication(
        medication=body.medication, dose=body.dose, note=body.note, by=actor()
    )
    return jsonify(entry.as_dict()), 201
