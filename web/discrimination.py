"""Discrimination training on the page (issue 16): the patient names the site touched.

``POST /api/discrimination/answer {"site": NAME, "probe": NAME}`` answers the stimulus
playing now or in its answer window (``station.app.discrimination``); with feedback on,
the answer says at once whether it was right and which site (and probe) it was. A
patient or clinician answers; no login: 401. The choices, the open trial and the score
so far are in ``GET /api/status``'s ``discrimination``; never the site of a trial that
can still be answered. The panel has no answer: its buttons rate and stop (an answer
there would need a site per button; the page's body picture is the answer).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from pydantic import Field

from web.contract import contract
from web.models import Strict
from web.responses import Open
from web.security import actor, role_required

bp = Blueprint("discrimination", __name__)

Name = Field(min_length=1, max_length=48, pattern=r"^[a-z][a-z0-9_-]{0,47}$")

class AnswerIn(Strict):
    site: str = Field(
        min_length=1, max_length=48, description="the site named: an actuator of the step's choices"
    )
    probe: str | None = Field(
        None, max_length=48, description="the probe named, when the step uses probes"
    )

class AnswerOut(Open):
    recorded: bool
    session_id: int
    trial: int = Field(description="0-based, across the step's blocks")
    block: int
    feedback: bool = Field(description="whether this step tells the answer at once")
    correct: bool | None = Field(None, description="with feedback: named right")
    right_site: str | None = Field(None, description="with feedback: the site touched")
    right_probe: str | None = Field(None, description="with feedback: the probe played")

def _coord() -> Any:
    return current_app.extensions["station.app.coordinator"]

@bp.post("/api/discrimination/answer")
@role_required("patient", "clinician")
@contract(
    "Name the site (and probe) of the discrimination stimulus playing now or waiting for "
    "its answer; an unanswered stimulus counts as missed when its answer time runs out",
    body=AnswerIn,
    ok=AnswerOut,
    errors=(409, 503),
)
def answer(body: AnswerIn) -> Any:
    coord = _coord()
    coord.patients.require_active("answering a discrimination stimulus")
    return jsonify(coord.discrimination.answer(site=body.site, probe=body.probe, by=actor()))
