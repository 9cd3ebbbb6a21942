"""The records the store hands out: frozen dataclasses, never live rows.

Why dataclasses: callers (web views, the engine wiring, exports) get typed fields and
cannot mutate stored state by accident; ``as_dict()`` gives the JSON-safe shape (ISO
times) that the API and the JSON export both use, so the two never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Literal

Role = Literal["clinician", "patient"]
SessionState = Literal["armed", "running", "paused", "completed", "stopped", "aborted"]

ROLES: tuple[str, ...] = ("clinician", "patient")
FINAL_STATES = frozenset({"completed", "stopped", "aborted"})
# Allowed transitions; any non-final state may also become "aborted" (crash, power loss).
TRANSITIONS: dict[str, frozenset[str]] = {
    "armed": frozenset({"running", "stopped", "aborted"}),
    "running": frozenset({"paused", "completed", "stopped", "aborted"}),
    "paused": frozenset({"running", "stopped", "aborted"}),
    "completed": frozenset(),
    "stopped": frozenset(),
    "aborted": frozenset(),
}
DEFAULT_LADDER = "main"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, date):  # a day (a patient's enrolment)
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return value


class _Record:
    _private: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            f.name: _jsonable(getattr(self, f.name))
            for f in fields(self)  # type: ignore[arg-type]
            if f.name not in self._private
        }


@dataclass(frozen=True)
class User(_Record):
    _private = ("password_hash", "session_epoch")
    id: int
    name: str
    role: Role
    password_hash: str
    created_at: datetime
    disabled: bool = False
    # Bumped at logout, disable and password reset: login cookies of an older epoch fail.
    session_epoch: int = 0
    # The patient record a patient account belongs to (schema 4); clinicians: None.
    patient_id: int | None = None
    # The account's language for the page (schema 9); None: the browser's, else English.
    locale: str | None = None


@dataclass(frozen=True)
class Plan(_Record):
    protocol_id: str
    protocol_version: str
    levels: dict[str, int]
    ranking: dict[str, list[str]]
    settings: dict[str, Any]
    updated_at: datetime
    revision: int = 0  # bumped by every change; a write from an older one is refused


@dataclass(frozen=True)
class Step(_Record):
    """What the engine reported for one step (``delivered`` is the engine's own account)."""

    step_index: int
    kind: str
    label: str
    started_at: datetime
    finished_at: datetime | None
    delivered: dict[str, Any]


@dataclass(frozen=True)
class Rating(_Record):
    """``value``: discomfort 0-10. ``pleasantness``: bipolar -10 (very unpleasant) .. +10
    (very pleasant), 0 neutral, as in affective-touch brushing studies."""

    id: int
    session_id: int
    step_index: int | None
    at: datetime
    live: bool
    value: int
    pleasantness: int | None
    lingering: bool | None
    lingering_where: str | None
    by: str | None = None  # who gave it; None for ratings older than schema version 7


@dataclass(frozen=True)
class JournalEntry(_Record):
    id: int
    session_id: int | None
    at: datetime
    text: str
    trigger: str | None
    by: str | None = None  # who wrote it; None for entries older than schema version 7


@dataclass(frozen=True)
class DecisionRecord(_Record):
    id: int
    session_id: int
    at: datetime
    ladder: str
    action: str
    from_level: int
    to_level: int
    reason: str


@dataclass(frozen=True)
class Transition(_Record):
    at: datetime
    from_state: str | None
    to_state: str
    reason: str | None
    by: str | None


@dataclass(frozen=True)
class LevelChange(_Record):
    id: int
    at: datetime
    ladder: str
    from_level: int | None
    to_level: int
    reason: str
    session_id: int | None


@dataclass(frozen=True)
class Session(_Record):
    """A session with everything recorded about it. ``steps`` etc. are empty tuples in
    list views (``list_sessions``) and filled by ``get_session``."""

    id: int
    protocol_id: str
    protocol_version: str
    protocol_hash: str
    ladder: str
    level: int
    level_name: str | None
    planned_steps: int
    state: SessionState
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    ended_by: str | None
    sessions_per_day: int | None
    min_gap_minutes: int | None
    program: dict[str, Any] | None = None
    steps: tuple[Step, ...] = ()
    ratings: tuple[Rating, ...] = ()
    journal: tuple[JournalEntry, ...] = ()
    transitions: tuple[Transition, ...] = ()
    decision: DecisionRecord | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES
