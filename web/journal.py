"""The patient's own journal: the page to read and write it, and ``GET /api/journal``.

Writing goes through ``POST /api/journal`` (``web.api``); this module adds reading it
back, newest first, with the session each entry belongs to. It also gives every template
``clinician_notes()``: the notes the clinician keeps on the patient's record, which the
patient reads on the Today and Journal pages. Both read through the coordinator's store,
whose repositories serve the patient the request is for (``station.storage.store``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template
from pydantic import Field

from station.errors import StationError
from web import models as m
from web import responses as r
from web.contract import contract
from web.security import login_required_any

bp = Blueprint("journal", __name__)

LIMIT_MAX = 1000


class JournalQuery(m.Strict):
    limit: m.QueryInt = Field(200, ge=1, le=LIMIT_MAX, description="newest first, at most")


class JournalListOut(r.Open):
    entries: list[r.JournalOut]
    clinician_notes: str | None = Field(
        None, description="what the clinician wrote on the patient's record for them"
    )


def _coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


def clinician_notes() -> str | None:
    """The clinician's notes on this patient's record (None: none, or no record yet)."""
    store = _coord().store
    patients = getattr(store, "patients", None)  # the record exists from schema 4 on
    if patients is None:
        return None
    try:
        return (patients.get(store.patient_id).notes or "").strip() or None
    except StationError:  # several patients and none chosen: nothing to show
        return None


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"clinician_notes": clinician_notes}


def entries(limit: int) -> list[dict[str, Any]]:
    return [e.as_dict() for e in _coord().store.journal.entries(limit=limit)]


@bp.get("/journal")
@login_required_any
def page() -> Any:
    return render_template("journal.html", entries=entries(200))


@bp.get("/api/journal")
@login_required_any
@contract(
    "The patient's journal, newest first, and the clinician's notes for them",
    query=JournalQuery,
    ok=JournalListOut,
)
def list_journal(query: JournalQuery) -> Any:
    return jsonify({"entries": entries(query.limit), "clinician_notes": clinician_notes()})
