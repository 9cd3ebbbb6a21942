"""The HTTP contract of ``/api/``: what each route answers.

The views answer these shapes; the OpenAPI document (``web.openapi``) publishes their
``model_json_schema()`` and the schemathesis test checks every response against them.
Objects the station's core owns and may grow (the status, a session) are documented
with their fields and stay open to new ones (``extra="allow"``); objects this package
builds are closed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel


class Closed(BaseModel):
    """A response object this package builds: its fields are all there is."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A response object the station's core builds and may grow: the fields listed are
    always there; others may follow."""

    model_config = ConfigDict(extra="allow")


# -- errors -----------------------------------------------------------------------------


class ErrorDetail(Open):
    code: str
    message: str
    field: str | None = None
    value: Any = None
    allowed: Any = None


class Error(Closed):
    """Every refusal: a 4xx (or 503) with what the caller needs to fix it."""

    error: ErrorDetail


class Who(Closed):
    name: str
    role: Literal["clinician", "patient"]


class LoginOut(Closed):
    user: Who
    csrf_token: str


class LogoutOut(Closed):
    logged_out: str


class Status(Open):
    state: str
    state_text: str
    engine: dict[str, Any]
    session: dict[str, Any] | None
    step: dict[str, Any] | None
    elapsed_ms: int = Field(ge=0)
    duration_ms: int = Field(ge=0)
    progress: float = Field(ge=0, le=1)
    time_left_ms: int = Field(ge=0)
    time_left_text: str
    next: dict[str, Any] | None
    simulate: bool
    fault: dict[str, Any] | None
    estop_latched: bool
    indicator: str
    questions: dict[str, Any] | None = Field(
        None, description="what the rating card asks now (the step's own questions)"
    )
    guide: dict[str, Any] | None = Field(
        None, description="before Start: materials, patient notes, sites, stop threshold"
    )
    sites: dict[str, str | None] = Field(
        default_factory=dict,
        description="actuator -> body site it is placed on (the plan's, else the wiring's)",
    )


class StatusOut(Status):
    user: Who | None


class StartOut(Closed):
    session_id: int
    status: Status


class StopOut(Closed):
    stopped: bool
    engine: dict[str, Any]
    status: Status
    message: str | None = None  # e.g. the record waits for disk space


class SitesOut(Closed):
    sites: dict[str, str | None]


class TooMuchOut(StopOut):
    recorded: Literal["too_much"]


class PauseOut(Closed):
    paused: bool
    status: Status


class ResumeOut(Closed):
    resumed: bool
    status: Status


class ResetOut(Closed):
    reset: bool
    engine: Any
    status: Status


class StepEndOut(Closed):
    session_id: int
    ended: int
    reason: str
    skipped_ms: float
    status: Status


class RatingOut(Closed):
    id: int | None  # None: not on disk yet (saved false)
    session_id: int
    value: int = Field(ge=0, le=10)
    live: bool
    stopped: bool
    saved: bool = True  # false (202): it stopped the session, the disk is full; it waits
    message: str | None = None


class RatingRecord(Open):
    id: int
    session_id: int
    at: str
    live: bool
    value: int = Field(ge=0, le=10)
    pleasantness: int | None
    lingering: bool | None
    by: str | None = Field(None, description="who gave it: patient:NAME, clinician:NAME, panel")


class JournalOut(Open):
    id: int
    session_id: int | None
    at: str
    text: str
    trigger: str | None
    by: str | None = Field(None, description="who wrote it: patient:NAME or clinician:NAME")


class Session(Open):
    id: int
    protocol_id: str
    ladder: str
    level: int
    level_name: str | None
    planned_steps: int
    state: Literal["armed", "running", "paused", "completed", "stopped", "aborted"]
    created_at: str
    started_at: str | None
    ended_at: str | None
    end_reason: str | None
    ended_by: str | None


class SessionDetail(Session):
    steps: list[dict[str, Any]]
    ratings: list[RatingRecord]
    journal: list[JournalOut]
    transitions: list[dict[str, Any]]
    decision: dict[str, Any] | None


class SessionsOut(Closed):
    sessions: list[Session]


class HistoryRating(Closed):
    t: float
    at: str
    value: int
    live: bool
    stimulus: str
    session_id: int


class HistoryLevel(Closed):
    t: float
    at: str
    ladder: str
    level: int


class HistoryOut(Closed):
    ratings: list[HistoryRating]
    levels: list[HistoryLevel]


class CapsOut(Closed):
    caps: dict[str, Any]
    clamped: list[str] = Field(description="the patient's settings lowered to the new caps")


class SettingsView(Closed):
    revision: int | None = Field(description="the plan revision these were read at")
    settings: dict[str, Any]
    fields: list[dict[str, Any]]
    caps: list[dict[str, Any]]
    protocol_caps: dict[str, Any]
    effective_caps: dict[str, Any]


class ProtocolSummary(Closed):
    id: str
    version: str
    name: str
    hash: str
    builtin: bool
    levels: list[str]
    level_names: list[str]


class ProtocolsOut(Closed):
    protocols: list[ProtocolSummary]


class ImportOut(Closed):
    id: str
    version: str
    hash: str
    status: str


class PreviewStep(Closed):
    index: int
    kind: str
    label: str
    start_ms: int
    duration_ms: int
    instruction: str | None


class PreviewOut(Closed):
    protocol_id: str
    version: str
    ladder: str
    level: str
    level_name: str
    duration_ms: int
    steps: list[PreviewStep]
    series: dict[str, list[list[float]]]


class PlanOut(Open):
    pass


class CalibrationOut(Open):
    actuators: dict[str, dict[str, Any]]


class CalibrateOut(Open):
    actuator: str
    actuator_kind: Literal["lra", "erm"]
    compensation: int = Field(ge=0, le=255)
    back_emf: int = Field(ge=0, le=255)
    back_emf_gain: int = Field(ge=0, le=3)


class PressOut(Closed):
    pressed: Literal["start", "stop", "estop", "up", "down"]


class Output(Open):
    active: bool
    level: float = Field(ge=0, le=1)


class OutputsOut(RootModel[dict[str, Output]]):
    """What each simulated actuator is physically doing."""


class ClockOut(Closed):
    """The simulated clock (simulator only)."""

    now: str = Field(description="the station's simulated now (ISO 8601, UTC)")
    rate: float = Field(ge=1, description="simulated seconds per real second")
    advanced_s: float = Field(ge=0, description="the total of all jumps so far")
    real_now: str = Field(description="the real time (ISO 8601, UTC)")


class TraceOut(Closed):
    records: list[dict[str, Any]]
    last_seq: int


class ServerEvent(Closed):
    """One server-sent event of ``GET /api/events``: its name and a JSON object (the
    first is always ``status``, a ``Status``); comments keep the stream alive."""

    event: str | None = None
    data: str = Field(json_schema_extra={"contentMediaType": "application/json"})
    id: str | None = None
    retry: int | None = None


class Document(Open):
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


class RankingRecordOut(Closed):
    """One recorded ranking (never changed afterwards)."""

    id: int
    at: str = Field(description="when it was recorded (ISO 8601)")
    ladder: str
    order: list[str] = Field(description="item ids, least irritating first")
    context: Literal["intake", "visit"] = Field(
        description="intake: the ladder's first ranking; visit: a re-ranking"
    )
    by: str | None = None


class RankingItem(Closed):
    id: str
    name: str
    description: str


class RankedLadder(Closed):
    ladder: str
    protocol_id: str
    protocol_name: str
    description: str
    in_plan: bool = Field(description="a ladder of the assigned plan's protocol")
    order: list[str] | None = Field(description="the ranking in force; null: not ranked yet")
    needs_ranking: bool = Field(description="the plan cannot play this ladder until ranked")
    items: list[RankingItem] = Field(description="in the order in force (else the file's)")
    history: list[RankingRecordOut] = Field(description="every ranking recorded, newest first")


class RankingsOut(Closed):
    ladders: list[RankedLadder]


class RankingOut(Closed):
    recorded: RankingRecordOut
    ladder: RankedLadder
