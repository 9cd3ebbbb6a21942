"""The patient's ranking of a patient-ranked ladder: ``/api/plan/ranking``.

``POST`` records one ladder's order (least irritating first): the clinician may record or
re-rank at any time; the patient only at intake, while the ladder has no ranking yet (a
re-ranking is done with the clinician, who sees the history). ``GET`` answers the ranking
in force per ranked ladder, its items and the history. The checks and the one-transaction
write are the core's (``station.app.ranking``, ``store.rankings``).

The pages (the patient's intake list on Today, the clinician's re-rank control) read
``ranking_view()`` from the template context and post to the API from
``static/js/ranking.js``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from flask_login import current_user

from station.app import ranking as core
from station.errors import StationError
from web import models as m
from web import responses as r
from web.contract import contract
from web.errors import ApiError
from web.security import actor, login_required_any, role_required

bp = Blueprint("ranking", __name__, url_prefix="/api/plan")


def coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


@bp.get("/ranking")
@login_required_any
@contract(
    "The ranking in force per patient-ranked ladder, its items and the history",
    ok=r.RankingsOut,
)
def get_ranking() -> Any:
    return jsonify(core.view(coord()))


@bp.post("/ranking")
@role_required("patient", "clinician")
@contract(
    "Record the patient's ranking of a ladder, least irritating first (clinician; the "
    "patient only at intake, while the ladder has no ranking); refused whole when it does "
    "not fit the protocol",
    body=m.RankingIn,
    ok=r.RankingOut,
    status=201,
    errors=(403, 409),
)
def post_ranking(body: m.RankingIn) -> Any:
    c = coord()
    try:
        rec = core.record(
            c,
            body.ladder,
            list(body.order),
            by=actor(),
            protocol_id=body.protocol,
            intake_only=current_user.role != "clinician",
        )
    except core.AlreadyRanked as exc:
        raise ApiError(
            403,
            "forbidden",
            f"{exc}: a patient records a ladder's ranking once, at intake; ask the "
            "clinician to re-rank it at your next visit",
            field="ladder",
            value=body.ladder,
            allowed=["clinician"],
        ) from None
    ladder = next(x for x in core.view(c)["ladders"] if x["ladder"] == rec.ladder)
    return jsonify({"recorded": rec.as_dict(), "ladder": ladder}), 201


def ranking_view(*, library_too: bool = False) -> dict[str, Any]:
    """For the pages: the view, or nothing when it cannot be read (never fail a page)."""
    try:
        return core.view(coord(), library_too=library_too)
    except StationError:
        return {"ladders": []}


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {"ranking_view": ranking_view}
