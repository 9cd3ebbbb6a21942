"""The clinician's view of who changed what (``/clinician/audit``), and ``note`` for the
web routes that change accounts and patients (the plan's changes are recorded by the
coordinator: ``station.app.audit``).

``?patient=ID`` (default: the active patient): that patient's changes and the station's
(accounts), never another patient's.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from web import clinic_shape
from web.security import actor

WHAT_WORDS = {
    "plan": "Plan assigned",
    "caps": "Caps",
    "settings": "Patient's settings",
    "sites": "Stimulation sites",
    "account": "Account",
    "patient": "Patient record",
    "ranking": "Ranking",
    "threshold": "Threshold measured",
    "level": "Level",
}


def _coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


def note(what: str, summary: str, *, patient_id: int | None = None) -> None:
    """Record a change the current user made (accounts, patients)."""
    _coord().store.audit.record(what, summary, actor=actor(), patient_id=patient_id)


def page(args: Any) -> Any:
    coord = _coord()
    patient = clinic_shape.reviewed_patient(coord, args.get("patient"))
    store = coord.store
    now, tz = store.now(), store.tz
    rows = [
        {**e.as_dict(), "when": clinic_shape.human_time(e.at, tz=tz, now=now),
         "what_words": WHAT_WORDS.get(e.what, e.what)}
        for e in store.audit.timeline(patient_id=patient.id)
    ]  # fmt: skip
    return render_template("audit.html", patient=patient, rows=rows,
                           patients=clinic_shape.desk(coord))  # fmt: skip
