"""The virtual station: the simulator's panel buttons, outputs and trace (simulator only).

These routes exist to show and drive the simulated hardware that lives inside the engine
process; on real hardware they answer 404 so nothing on the page can fake a button press.
Pressing a simulated button is like pressing the real one, so no login is needed, but it
still carries the page's CSRF token. The simulated clock (``/api/sim/clock``) follows the
same rule: it exists only on the simulator, where moving time is how a demo or a test
runs a programme's weeks.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template
from pydantic import Field

from web import models, responses
from web.contract import contract
from web.errors import ApiError

bp = Blueprint("sim", __name__)

BUTTONS = models.BUTTONS


def _coord() -> Any:
    coord = current_app.extensions["station.app.coordinator"]
    if not coord.simulate:
        raise ApiError(404, "not_found", "the station runs on real hardware; there is no simulator")
    return coord


def _buttons(coord: Any) -> list[str]:
    """The buttons this station's panel has (the wiring file's ``[panel]``)."""
    panel = coord.planner.wiring.panel
    buttons = ["start", "stop"] + (["estop"] if panel.estop_pin is not None else [])
    if panel.rating is not None and panel.rating.kind == "buttons":
        buttons += ["up", "down"]
    return buttons


@bp.get("/sim")
def panel() -> Any:
    return render_template("sim.html", buttons=_buttons(_coord()))


@bp.post("/api/sim/buttons/<name>/press")
@contract(
    "Press a simulated panel button (simulator only)",
    ok=responses.PressOut,
    errors=(404, 503),
    path={"name": {"type": "string", "enum": list(models.BUTTONS)}},
)
def press(name: str) -> Any:
    coord = _coord()
    if name not in models.BUTTONS:
        raise ApiError(
            404,
            "not_found",
            f"no simulated button {name!r}",
            field="name",
            value=name,
            allowed=list(models.BUTTONS),
        )
    return jsonify(coord.sim_press(name))


class PanelOut(responses.Open):
    """The simulated panel as a patient would see it: the engine's state and the LED
    pattern it shows (the patterns of the README's panel table), the e-stop latch, the
    live rating the rating buttons set, and the buttons this panel has."""

    state: str
    led: str | None = Field(description="the LED pattern showing now (station.vocab)")
    estop_latched: bool
    live_rating: int | None = None
    buttons: list[str]


@bp.get("/api/sim/panel")
@contract(
    "The simulated panel: engine state, LED pattern, e-stop latch", ok=PanelOut, errors=(404, 503)
)
def panel_state() -> Any:
    coord = _coord()
    st = coord.link.call("status", timeout=1.0)  # the engine's own answer, not a cache
    buttons = _buttons(coord)
    return jsonify(
        {
            "state": st.get("state"),
            "led": st.get("led"),
            "estop_latched": bool(st.get("estop_latched")),
            "live_rating": st.get("live_rating"),
            "buttons": buttons,
        }
    )


@bp.get("/api/sim/outputs")
@contract("What each simulated actuator is doing", ok=responses.OutputsOut, errors=(404, 503))
def outputs() -> Any:
    return jsonify(_coord().sim_outputs())


@bp.get("/api/sim/clock")
@contract("The simulated clock (simulator only)", ok=responses.ClockOut, errors=(404,))
def clock() -> Any:
    return jsonify(_coord().sim_clock_state())


@bp.post("/api/sim/clock")
@contract(
    "Jump the simulated clock forward or make it run fast (simulator only)",
    body=models.ClockIn,
    ok=responses.ClockOut,
    errors=(404, 503),
)
def move_clock(body: models.ClockIn) -> Any:
    return jsonify(_coord().sim_clock_change(advance_s=body.advance_s, rate=body.rate))


@bp.get("/api/sim/trace")
@contract(
    "Timestamped simulated hardware writes",
    query=models.TraceQuery,
    ok=responses.TraceOut,
    errors=(404, 503),
)
def trace(query: models.TraceQuery) -> Any:
    return jsonify(_coord().sim_trace(since=query.since, limit=query.limit))
