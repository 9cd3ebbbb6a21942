"""The guided-step routes of ``/api/``: the patient ends a guided (manual) step early.

Apart from ``web.api`` so that the guided steps' HTTP surface is one small module; the
contract (``web.contract``) and the OpenAPI document treat it like every other route.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from web import models as m
from web import responses as r
from web.contract import contract
from web.security import actor, role_required

bp = Blueprint("guided", __name__, url_prefix="/api")


@bp.post("/step/end")
@role_required("patient", "clinician")
@contract(
    'End the guided (manual) step playing now ("it feels numb" / "enough"); the next step '
    "begins at once and the session's record says who ended which step and why. Refused "
    "(409) for a stimulus or rate step, or a step that is not playing",
    body=m.StepEndIn,
    ok=r.StepEndOut,
    errors=(409, 503),
)
def end_step(body: m.StepEndIn) -> Any:
    coord = current_app.extensions["station.app.coordinator"]
    return jsonify(coord.end_step(body.index, why=body.why, by=actor()))
