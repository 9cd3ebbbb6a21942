"""What crosses the engine's seams, typed: its events and its status answer.

Events are small frozen dataclasses, one per event name (``station.vocab.EventName``):
the loop builds one and ``EventHub.emit`` turns it into the wire dict
(``{"event": name, "t_ns": ..., **fields}``, then ``seq`` when delivered). Building one
is a few attribute stores, so the loop may emit without I/O or allocation storms; the
wire shape is what the app (``station.app.engine_follow``, ``recorder``) reads.

The status answer is a pydantic model (``EngineStatus``) so the app or a test can
validate what the engine said; over IPC it is its ``model_dump()``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict

from station.program import Program
from station.vocab import EngineState, EventName, IdlePattern, StopReason

# The app numbers its sessions; tests and tools may name them. The engine echoes it as given.
SessionId = str | int


class StopRequest(NamedTuple):
    """A pending stop: why, who/what asked, and when (monotonic ns)."""

    reason: StopReason
    by: str | None
    t_ns: int


# --- events ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class EngineEvent:
    """Base of every event; ``name`` is the wire's ``"event"``."""

    name: ClassVar[EventName]

    def wire(self) -> dict[str, Any]:
        """The event's fields as the wire dict (without ``event``/``t_ns``/``seq``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmedEvent(EngineEvent):
    name: ClassVar[EventName] = "armed"
    session_id: SessionId | None
    protocol_id: str
    level: str
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StartedEvent(EngineEvent):
    name: ClassVar[EventName] = "started"
    session_id: SessionId | None
    by: str
    t0_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StateEvent(EngineEvent):
    name: ClassVar[EventName] = "state"
    state: EngineState
    previous: EngineState
    session_id: SessionId | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStartedEvent(EngineEvent):
    name: ClassVar[EventName] = "step_started"
    session_id: SessionId | None
    index: int
    kind: str
    label: str
    start_ms: int
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StepFinishedEvent(EngineEvent):
    name: ClassVar[EventName] = "step_finished"
    session_id: SessionId | None
    index: int
    kind: str
    label: str
    delivered: list[dict[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoppedEvent(EngineEvent):
    name: ClassVar[EventName] = "stopped"
    reason: StopReason
    by: str | None
    session_id: SessionId | None
    program_ms: float | None
    request_t_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultEvent(EngineEvent):
    name: ClassVar[EventName] = "fault"
    device: str
    message: str
    session_id: SessionId | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TimingEvent(EngineEvent):
    """The loop's timing for one run; on the wire the statistics are flat fields."""

    name: ClassVar[EventName] = "timing"
    session_id: SessionId | None
    stats: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {"session_id": self.session_id, **self.stats}


@dataclass(frozen=True, slots=True, kw_only=True)
class EstopResetEvent(EngineEvent):
    name: ClassVar[EventName] = "estop_reset"
    by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibratingEvent(EngineEvent):
    name: ClassVar[EventName] = "calibrating"
    actuator: str
    budget_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibratedEvent(EngineEvent):
    """``ok`` with the stored values, or not ``ok`` with the ``error``."""

    name: ClassVar[EventName] = "calibrated"
    actuator: str
    ok: bool
    error: str | None = None
    values: dict[str, Any] | None = None

    def wire(self) -> dict[str, Any]:
        if self.ok:
            return {"actuator": self.actuator, "ok": True, **(self.values or {})}
        return {"actuator": self.actuator, "ok": False, "error": self.error}


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorEvent(EngineEvent):
    name: ClassVar[EventName] = "indicator"
    pattern: IdlePattern


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingEvent(EngineEvent):
    name: ClassVar[EventName] = "rating"
    value: int
    confirmed: bool
    by: str
    session_id: SessionId | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchdogEvent(EngineEvent):
    name: ClassVar[EventName] = "watchdog"
    action: str  # "outputs_off" | "escalate"
    bound_ms: int


# --- status ------------------------------------------------------------------------------
class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArmedInfo(_Answer):
    protocol_id: str
    level: str
    duration_ms: int
    steps: int
    stop_threshold: int | None

    @classmethod
    def of(cls, prog: Program) -> ArmedInfo:
        return cls(protocol_id=prog.protocol_id, level=prog.level,
                   duration_ms=prog.duration_ms, steps=len(prog.steps),
                   stop_threshold=prog.stop_threshold)  # fmt: skip


class FaultInfo(_Answer):
    device: str
    message: str


class LastStop(_Answer):
    reason: StopReason
    by: str | None
    program_ms: float | None
    session_id: SessionId | None


class FaultPolls(_Answer):
    count: int
    max_gap_ms: float


class EngineStatus(_Answer):
    """The engine's ``status`` answer."""

    state: EngineState
    mode: str  # "sim" | "hardware"
    session_id: SessionId | None
    armed: ArmedInfo | None
    program_ms: float | None
    step: int | None
    estop_latched: bool
    led: str | None
    fault: FaultInfo | None
    last_stop: LastStop | None
    live_rating: int | None
    rate_hz: int
    actuators: list[str]
    realtime: dict[str, list[str]]
    watchdog_realtime: dict[str, list[str]]
    calibrating: str | None
    timing: dict[str, Any] | None
    fault_polls: FaultPolls
    event_seq: int
    engine_id: str


EVENT_CLASSES: dict[str, type[EngineEvent]] = {c.name: c for c in EngineEvent.__subclasses__()}
