"""The virtual station: the simulator's panel buttons, outputs and trace (simulator only).

These routes exist to show and drive the simulated hardware that lives inside the engine
process; on real hardware they answer 404 so nothing on the page can fake a button press.
Pressing a simulated button is like pressing the real one, so no login is needed, but it
still carries the page's CSRF token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request

from web.errors import ApiError

bp = Blueprint("sim", __name__)

BUTTONS = ("start", "stop", "estop")


def _coord() -> Any:
    coord = current_app.extensions["station.app.coordinator"]
    if not coord.simulate:
        raise ApiError(404, "not_found", "the station runs on real hardware; there is no simulator")
    return coord


@bp.get("/sim")
def panel() -> Any:
    _coord()
    return render_template("sim.html", buttons=BUTTONS)


@bp.post("/api/sim/buttons/<name>/press")
def press(name: str) -> Any:
    coord = _coord()
    if name not in BUTTONS:
        raise ApiError(
            404,
            "not_found",
            f"no simulated button {name!r}",
            field="name",
            value=name,
            allowed=list(BUTTONS),
        )
    return jsonify(coord.sim_press(name))


@bp.get("/api/sim/outputs")
def outputs() -> Any:
    return jsonify(_coord().sim_outputs())


@bp.get("/api/sim/trace")
def trace() -> Any:
    coord = _coord()
    raw = request.args.get("since", "0")
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(
            422, "invalid", "since must be a trace sequence number >= 0", field="since", value=raw
        )
    limit_raw = request.args.get("limit", "1000")
    if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 10000:
        raise ApiError(
            422,
            "invalid",
            "limit must be 1..10000",
            field="limit",
            value=limit_raw,
            allowed="1..10000",
        )
    return jsonify(coord.sim_trace(since=int(raw), limit=int(limit_raw)))
