"""The body map of the sensitive zone: the drawing page and ``/api/bodymap``.

The patient or the clinician draws closed outlines around the zone on a body outline
(front, back, a hand in detail) with a finger; the page sends them as vector data in the
outline's own coordinates with the landmark length measured on the patient, and the
station computes the area in cm^2 (``station.bodymap.area``: Shapely's union, scaled by
the calibration). Earlier maps are drawn under the new one, faded, and the last zone's
border is the "start here" line. The store serves the patient the request is for
(``web.patients``), so a patient only ever sees and draws their own.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from station.bodymap.outlines import OUTLINES
from web import outcome_models as om
from web.contract import contract
from web.models import Strict
from web.security import actor, login_required_any, role_required

bp = Blueprint("bodymap", __name__)


class BodyMapQuery(Strict):
    outline: om.OutlineId | None = None


def _store() -> Any:
    return current_app.extensions["station.app.coordinator"].store


def overview(outline_id: str | None = None) -> dict[str, Any]:
    store = _store()
    maps = store.bodymaps.history(outline_id=outline_id)
    over_time: dict[str, list[list[Any]]] = {}
    for m in maps:
        over_time.setdefault(m.outline, []).append(
            [m.at.isoformat(timespec="milliseconds"), m.area_cm2]
        )
    return {
        "maps": [m.as_dict() for m in maps],
        "outlines": [o.as_dict() for o in OUTLINES.values()],
        "lengths": store.bodymaps.latest_lengths(),
        "area_over_time": over_time,
    }


@bp.get("/bodymap")
@login_required_any
def page() -> Any:
    return render_template("bodymap.html", data=overview())


@bp.get("/api/bodymap")
@login_required_any
@contract(
    "The patient's body maps (oldest first), the outlines with their calibration "
    "landmarks, the last measured lengths and the zone's area over time",
    query=BodyMapQuery,
    ok=om.BodyMapsOut,
)
def list_maps(query: BodyMapQuery) -> Any:
    return jsonify(overview(query.outline))


@bp.post("/api/bodymap")
@role_required("patient", "clinician")
@contract(
    "Store a body map: closed polygons around the sensitive zone in the outline's "
    "coordinates, and the landmark length measured on the patient; the station computes "
    "the area (cm^2) of their union",
    body=om.BodyMapIn,
    ok=om.BodyMapOut,
    status=201,
)
def add_map(body: om.BodyMapIn) -> Any:
    saved = _store().bodymaps.add(
        outline_id=body.outline,
        shapes=body.shapes,
        length_cm=body.length_cm,
        note=body.note,
        by=actor(),
    )
    return jsonify(saved.as_dict()), 201
