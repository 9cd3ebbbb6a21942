"""The parameters of each engine IPC method, as pydantic models (see ``registry``).

Strict types and no unknown keys: a request is either exactly what the method takes or a
``bad_params`` error naming the parameter, the value and what is allowed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from station.engine.messages import SessionId
from station.engine.registry import NoParams, Params
from station.engine.step_end import EndReason
from station.program import Program
from station.vocab import IdlePattern, RequestedStop

Seq = Annotated[int, Field(ge=0, description="an event sequence number, a whole number >= 0")]

__all__ = ["NoParams", "Params"]  # re-exported: handlers import every model from here


class Arm(Params):
    program: Program = Field(description="a compiled program (JSON object)")
    session_id: SessionId | None = None


class Start(Params):
    session_id: SessionId | None = Field(None, description="must be the armed session")
    by: str = Field("api", max_length=60, description="who pressed start (the record's)")


class Stop(Params):
    # "api" is the old spelling of "user"; station.vocab.stop_reason maps it.
    reason: RequestedStop | Literal["api"] = Field(
        "user", description="a person's stop, or the patient's 'too much'"
    )
    by: str | None = None


class Rate(Params):
    value: int = Field(ge=0, le=10, description="a live rating, a whole number 0..10")


class EndStep(Params):
    index: int = Field(ge=0, description="the step playing now (a manual or rate step)")
    reason: EndReason = Field(
        "enough", description="answered: a rate step's answer; enough: it feels numb / enough"
    )
    by: str | None = Field(None, max_length=60, description="who ended it")


class SetIndicator(Params):
    pattern: IdlePattern = "idle"


class Calibrate(Params):
    actuator: str = Field(min_length=1, description="the name of a haptic actuator")


class Events(Params):
    since: Seq = 0


class Subscribe(Params):
    since: Seq | None = None


class SimButton(Params):
    button: str = Field(description="a panel button of the simulator")


class SimTrace(Params):
    since: int = 0
    limit: int = Field(1000, ge=1, le=100_000)


class SimFault(Params):
    device: str
    kind: str


class SimStall(Params):
    ms: float = Field(gt=0, le=5000, description="how long the next tick stalls")
    spin: bool = Field(False, description="true: a busy spin; false: a sleep")


class SimPatient(Params):
    enabled: bool = Field(True, description="answer threshold trials automatically")
    thresholds: dict[str, Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=dict, description="hidden detection threshold per actuator (0..1]"
    )
    tolerances: dict[str, Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=dict, description="hidden highest manageable level per actuator"
    )
    noise: float = Field(0.0, ge=0, le=1, description="SD of the threshold, relative to it")
    seed: int | None = Field(None, description="seed of the patient's noise (repeatable)")


class SimPatientTrial(Params):
    actuator: str = Field(min_length=1, description="a haptic actuator of the simulator")


class SimTimeScale(Params):
    scale: float = Field(ge=1, le=1000, description="program ms per real ms (the sim clock's rate)")
