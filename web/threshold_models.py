"""The HTTP contract of ``/api/thresholds`` and ``/api/sim/patient``: requests are strict
(``web.models.Strict``), answers list the fields always there (``web.responses.Open``).
Both validate every request (``web.contract``) and feed the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from web.models import Strict
from web.responses import Open

Kind = Literal["detection", "tolerance"]
Fraction = Annotated[float, Field(gt=0, le=1)]


class MeasureIn(Strict):
    actuator: str = Field(max_length=200, description="a haptic actuator's name from the wiring")
    kind: Kind = Field(
        "detection",
        description="detection: the lowest level felt (adaptive staircase); tolerance: a "
        "short ascending series proposing where touch is just manageable (clinician only)",
    )


class AnswerIn(Strict):
    felt: bool | None = Field(None, description="detection trial: did you feel it?")
    manageable: bool | None = Field(None, description="tolerance trial: still manageable?")


class SimPatientIn(Strict):
    enabled: bool = Field(True, description="answer threshold trials automatically")
    thresholds: dict[str, Fraction] = Field(
        default_factory=dict, description="hidden detection threshold per actuator, (0..1]"
    )
    tolerances: dict[str, Fraction] = Field(
        default_factory=dict, description="hidden highest manageable level per actuator"
    )
    noise: float = Field(
        0.0, ge=0, le=1, description="SD of the momentary threshold, relative to it (0.05 = 5 %)"
    )
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="seed: a repeatable run")


class MeasurementOut(Open):
    measuring: bool
    actuator: str | None = None
    kind: Kind | None = None
    phase: Literal["stimulus", "answer", "finished", "aborted"] | None = None
    trial: int | None = None
    level: float | None = None
    ceiling: float | None = None
    prompt: str | None = None
    result: dict[str, Any] | None = None
    message: str | None = None


class ThresholdRecord(Open):
    id: int
    at: str
    actuator: str
    kind: Kind
    value: float
    method: str
    trials: int
    detail: dict[str, Any]
    by: str | None


class ThresholdsOut(Open):
    measurement: MeasurementOut
    detection: dict[str, ThresholdRecord]
    tolerance: dict[str, ThresholdRecord]
    in_settings: dict[str, float]
    needed: list[str]
    actuators: list[str]
    history: list[ThresholdRecord]


class SimPatientOut(Open):
    enabled: bool
    thresholds: dict[str, float]
    tolerances: dict[str, float]
    noise: float
    seed: int | None
