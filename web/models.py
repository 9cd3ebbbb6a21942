"""The HTTP contract of ``/api/``: what each route accepts.

Request models are strict (``true`` is not 1 %, ``2.7`` is not a whole number, ``"3"`` is
not 3) and refuse unknown fields; the views validate every JSON body and query string
with them (``web.contract``) and the OpenAPI document (``web.openapi``) is built from
their ``model_json_schema()``, so the two cannot drift apart. What the views answer is
in ``web.responses``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from station.app.simclock import MAX_ADVANCE_S, MAX_RATE
from station.protocols.model import SLUG
from station.protocols.settings import HHMM, PatientSettings
from station.vocab import REQUESTED_STOPS

ROLES = ("clinician", "patient")
REVISION = (
    "the plan revision this change was made from (GET /api/settings answers it); when the "
    "plan has changed since, nothing is saved and the answer is 409 with what changed. "
    "Without it the change applies on top of the plan in force"
)
STOP_REASONS = REQUESTED_STOPS  # one list: station.vocab
BUTTONS = ("start", "stop", "estop", "up", "down")  # up/down: the rating buttons
TRIGGER_MAX = 200
TEXT_MAX = 4000


class Strict(BaseModel):
    """A request body: strict JSON types, no unknown fields, no NaN or infinity."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


def _digits(value: Any) -> Any:
    """A query string carries text: accept plain ASCII digits only ("5", not "5.0",
    " 5" or "+5"); anything else reaches the strict int check and is refused."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return value


QueryInt = Annotated[int, BeforeValidator(_digits)]
Text = Annotated[str, Field(min_length=1, pattern=r"\S")]


# -- requests -----------------------------------------------------------------------------


class LoginIn(Strict):
    name: str = Field(max_length=200)
    password: str = Field(max_length=1000)


STOP_BODY: dict[str, Any] = {
    "description": "Optional. Stopping never refuses: any body, or none, stops. "
    '{"reason": "too_much"} records the stop as too much; anything else is a plain stop.',
    "examples": [{"reason": "user"}, {"reason": "too_much"}],
}


class RatingIn(Strict):
    value: int = Field(ge=0, le=10, description="discomfort 0 (none) .. 10 (stop)")
    pleasantness: int | None = Field(None, ge=-10, le=10, description="-10 .. +10, 0 neutral")
    lingering: bool | None = None
    lingering_where: str | None = Field(None, max_length=200)


class StepEndIn(Strict):
    """The patient's "End this step" on a guided (manual) step that is playing."""

    index: int = Field(ge=0, le=10_000, description="the step playing now (status.step.index)")
    why: Literal["numb", "enough"] = Field(
        "enough", description="numb: it feels numb; enough: enough for now"
    )


class JournalIn(Strict):
    text: Annotated[str, Field(min_length=1, max_length=TEXT_MAX, pattern=r"\S")]
    trigger: Annotated[str, Field(max_length=TRIGGER_MAX)] | None = None


def _setting(name: str) -> Any:
    """The patient-settings field ``name`` with the core's own bounds and description,
    optional here (a change names only what changes)."""
    info = PatientSettings.model_fields[name]
    return Field(None, description=info.description, **_bounds(info.metadata))


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in metadata:
        for key in ("gt", "ge", "lt", "le", "max_length", "min_length"):
            if getattr(item, key, None) is not None:
                out[key] = getattr(item, key)
    return out


class SettingsIn(Strict):
    """A change of patient settings; bounds come from ``PatientSettings`` and the caps
    of the assigned protocol are checked by the planner (refused with the cap shown)."""

    intensity_percent: float = _setting("intensity_percent")
    brush_speed_cm_s: float | None = _setting("brush_speed_cm_s")
    reminder_times: list[Annotated[str, Field(pattern=HHMM)]] = _setting("reminder_times")
    revision: int | None = Field(None, ge=0, description=REVISION)


class SitesIn(Strict):
    """Where the clinician placed the actuators on this patient (plan settings ``sites``);
    ``null`` puts an actuator back to the wiring's site."""

    sites: dict[
        Annotated[str, Field(pattern=SLUG, description="an actuator name from the wiring")],
        Annotated[str, Field(pattern=SLUG, description="body site, e.g. 'upper-arm'")] | None,
    ] = Field(max_length=16)


class PlanIn(Strict):
    protocol: Text = Field(max_length=200)
    level: Text = Field(max_length=200, description="ladder/index, id or name")
    revision: int | None = Field(None, ge=0, description=REVISION)


class CapsIn(Strict):
    """The clinician's caps for this patient, each at most as loose as the protocol's
    own; a tighter cap re-clamps the patient's settings it bounds (the answer says so)."""

    max_intensity_percent: float | None = Field(None, gt=0, le=100)
    max_brush_speed_cm_s: float | None = Field(None, gt=0, le=100)
    max_session_minutes: float | None = Field(None, gt=0, le=120)
    sessions_per_day: int | None = Field(None, ge=1, le=24)
    min_minutes_between_sessions: float | None = Field(None, ge=0, le=1440)
    revision: int | None = Field(None, ge=0, description=REVISION)


class CalibrateIn(Strict):
    actuator: str = Field(max_length=200, description="a haptic actuator's name from the wiring")


class SessionsQuery(Strict):
    limit: QueryInt = Field(100, ge=1, le=1000)


class PreviewQuery(Strict):
    protocol: Text = Field(max_length=200)
    level: Text = Field(max_length=200)


class ClockIn(Strict):
    """Move the simulated clock: jump forward ``advance_s`` seconds and/or run it at
    ``rate`` simulated seconds per real second (the engine plays programs as fast)."""

    advance_s: float = Field(0, ge=0, le=MAX_ADVANCE_S, description="seconds to jump forward")
    rate: float | None = Field(
        None, ge=1, le=MAX_RATE, description="simulated seconds per real second (1: real time)"
    )


class TraceQuery(Strict):
    since: QueryInt = Field(0, ge=0, le=10**18)
    limit: QueryInt = Field(1000, ge=1, le=10000)


class RankingIn(Strict):
    """The patient's ranking of a patient-ranked ladder, least irritating first."""

    ladder: str = Field(max_length=64, pattern=SLUG, description="a patient-ranked ladder")
    order: list[Annotated[str, Field(max_length=64, pattern=SLUG)]] = Field(
        min_length=1, max_length=200, description="every item id once, least irritating first"
    )
    protocol: str | None = Field(
        None,
        max_length=64,
        pattern=SLUG,
        description="the protocol whose ladder it is (default: the plan's, else the library's)",
    )
