"""What the hub's JSON API answers, as pydantic models: ``web.openapi`` publishes their
JSON Schema in the hub's ``/api/openapi.json`` (the station's generator, reused), and the
schemathesis test checks every answer against it (tests/hub/test_hub_openapi.py).

Records are the clinic's message models themselves (``station.hub.messages``): the hub
stores each validated message as its JSON, so a session in an answer is a
``SessionRecord``. Objects the hub builds are closed (``Closed``); none is open-ended.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from station.hub.messages import SessionRecord
from web.responses import Closed


class Who(Closed):
    name: str
    role: Literal["clinician"]


class LoginOut(Closed):
    user: Who
    csrf_token: str


class LogoutOut(Closed):
    logged_out: bool


class StationOut(Closed):
    station_id: str
    online: bool
    last_seen: str | None = Field(description="the last message of any kind (ISO 8601, UTC)")
    software: str | None
    last_fault: str | None = Field(description="'device: fault' of the newest fault")
    last_fault_at: str | None


class StationsOut(Closed):
    stations: list[StationOut]


class StationSessionsOut(Closed):
    station_id: str
    sessions: list[SessionRecord] = Field(description="newest first, each with its global id")


class PushRow(Closed):
    id: str = Field(description="the push's global id")
    station_id: str
    kind: Literal["protocol", "plan"]
    patient_id: str | None
    body: dict[str, Any]
    created_at: float = Field(description="epoch seconds (hub clock)")
    created_by: str
    outcome: Literal["applied", "refused"] | None = Field(description="None: not answered yet")
    reason: str | None
    acked_at: float | None


class PushesOut(Closed):
    station_id: str
    pushes: list[PushRow]


class PushOut(Closed):
    push_id: str
    station_id: str
    kind: Literal["protocol", "plan"]
    outcome: None = Field(description="always null here: the station answers later")


class PatientRow(Closed):
    patient_id: str = Field(description="pseudonymous id (never a name)")
    station_id: str
    last_record: str | None


class PatientsOut(Closed):
    patients: list[PatientRow]


class Alarm(Closed):
    rule: Literal["two_stops", "ratings_rising", "missed_days", "fault"]
    patient_id: str | None
    station_id: str | None = None
    message: str
    evidence: list[Any] = Field(description="session ids, days or the fault's time")


class AlarmsOut(Closed):
    alarms: list[Alarm]


class Adherence(Closed):
    days: int
    done: int
    prescribed: int
    percent: int | None


class TrendDay(Closed):
    day: str
    mean: float = Field(ge=0, le=10)
    n: int = Field(ge=1)


class LevelChange(Closed):
    model_config = Closed.model_config | {"populate_by_name": True}

    at: str
    ladder: str
    from_: int = Field(alias="from")
    to: int
    action: str
    reason: str


class VasPoint(Closed):
    at: str
    id: str
    rest: int | None = Field(ge=0, le=100)
    use: int | None = Field(ge=0, le=100)
    touch: int | None = Field(ge=0, le=100)


class FlarePoint(Closed):
    at: str
    id: str
    note: str


class ZonePoint(Closed):
    at: str
    id: str
    outline: str
    area_cm2: float = Field(ge=0)


class DiscriminationPoint(Closed):
    at: str
    id: str
    session_id: str
    trials: int
    correct: int
    missed: int
    accuracy_percent: int | None = Field(ge=0, le=100)


class Outcomes(Closed):
    """Each outcome measure over time, oldest first (station/hub/outcomes.py)."""

    vas: list[VasPoint]
    flares: list[FlarePoint]
    zone_area: list[ZonePoint]
    discrimination: list[DiscriminationPoint]


class PatientOut(Closed):
    patient_id: str
    adherence: Adherence
    rating_trend: list[TrendDay]
    level_history: list[LevelChange]
    last_sessions: list[SessionRecord]
    station_ids: list[str]
    alarms: list[Alarm]
    outcomes: Outcomes


EXPORT_CONTENT: dict[str, dict[str, Any]] = {
    "text/csv": {"type": "string"},
    "application/fhir+json": {
        "type": "object",
        "description": "a FHIR R4 Bundle (collection) of Observations",
        "properties": {"resourceType": {"const": "Bundle"}},
        "required": ["resourceType"],
    },
}
