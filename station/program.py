"""The compiled program: what the engine plays, with every decision already taken.

The protocol compiler turns (protocol, level, patient settings, device limits) into a
``Program``: a flat list of timed steps, each holding per-actuator segments whose levels
and speeds are already clamped by all three layers of limits. The engine renders segments
to setpoints tick by tick and decides nothing else. Times are integer milliseconds from
the start of the program so that a program is exact, hashable and JSON-safe over IPC.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from station.program_trials import DiscriminationPlan

EFFECT_ID_MIN, EFFECT_ID_MAX = 1, 123


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Timed(_Frozen):
    actuator: str
    start_ms: int = Field(ge=0, description="from the start of the program")
    duration_ms: int = Field(gt=0)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms


class AmplitudeSegment(_Timed):
    """Continuous vibration in real-time (RTP) mode on one haptic driver.

    ``level`` is the fraction of the driver's full scale after device limit, clinician cap
    and patient setting. Each burst ramps up over ``ramp_up_ms`` and down over
    ``ramp_down_ms`` (no step jumps); with ``on_ms``/``off_ms`` it pulses in bursts.
    """

    type: Literal["amplitude"] = "amplitude"
    level: float = Field(ge=0, le=1)
    ramp_up_ms: int = Field(0, ge=0)
    ramp_down_ms: int = Field(0, ge=0)
    on_ms: int | None = Field(None, gt=0)
    off_ms: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _pattern(self) -> AmplitudeSegment:
        if (self.on_ms is None) != (self.off_ms is None):
            raise ValueError("on_ms and off_ms go together")
        return self


class TapSegment(_Timed):
    """Taps from the DRV2605 effect library, one every ``interval_ms`` from ``start_ms``."""

    type: Literal["taps"] = "taps"
    effect_id: int = Field(ge=EFFECT_ID_MIN, le=EFFECT_ID_MAX)
    interval_ms: int = Field(gt=0)


class BrushSegment(_Timed):
    """Brush strokes: each accelerates at ``accel_cm_s2`` to ``speed_cm_s``, holds it
    through the middle of the stroke, and decelerates to rest at ``stroke_cm``.

    ``lead_in_ms`` opens the segment with the timed move from park to the first stroke's
    start and ``lead_out_ms`` closes it with the move from the last stroke's end back to
    park (the brush's ``approach_speed_cm_s``), so both lie inside ``duration_ms`` and the
    brush never jumps on or off the skin. The engine refuses a segment whose lead-in or
    lead-out is too short for its brush (0 = a program compiled before they existed)."""

    type: Literal["brush"] = "brush"
    speed_cm_s: float = Field(gt=0)
    stroke_cm: float = Field(gt=0)
    strokes: int = Field(ge=1)
    pause_ms: int = Field(ge=0)
    direction: Literal["forward", "backward", "alternate"] = "alternate"
    accel_cm_s2: float = Field(gt=0)
    lead_in_ms: int = Field(0, ge=0, description="park -> first stroke start, from start_ms")
    lead_out_ms: int = Field(0, ge=0, description="last stroke end -> park, before end_ms")


Segment = Annotated[AmplitudeSegment | TapSegment | BrushSegment, Field(discriminator="type")]

StepKind = Literal["vibrate", "tap", "brush", "manual", "rest", "rate", "discriminate"]


class RatingRequest(_Frozen):
    """What a ``rate`` step asks the patient for (0-10 discomfort is always asked)."""

    pleasantness: bool = False
    lingering: bool = False
    prompt: str = "How uncomfortable was that, from 0 (none) to 10 (worst)?"


class ProgramStep(_Frozen):
    index: int = Field(ge=0)
    kind: StepKind
    label: str
    start_ms: int = Field(ge=0)
    duration_ms: int = Field(gt=0)
    instruction: str | None = None
    rating: RatingRequest | None = None
    segments: tuple[Segment, ...] = ()
    # a discriminate step: its trials (site, probe, timing) and seed; never sent to a page
    discrimination: DiscriminationPlan | None = None

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms


class Program(_Frozen):
    protocol_id: str
    protocol_version: str
    protocol_hash: str = Field(description="sha256 of the protocol's canonical JSON")
    level: str = Field(description="name of the level this program plays")
    level_index: int = Field(ge=0)
    stop_threshold: int | None = Field(
        None, ge=0, le=10, description="a live rating at or above this stops at once"
    )
    steps: tuple[ProgramStep, ...]
    duration_ms: int = Field(gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        t = 0
        for i, step in enumerate(self.steps):
            if step.index != i or step.start_ms != t:
                raise ValueError(f"step {i} must have index {i} and start at {t} ms")
            for seg in step.segments:
                if seg.start_ms < step.start_ms or seg.end_ms > step.end_ms:
                    raise ValueError(f"step {i}: a segment runs outside its step")
            t = step.end_ms
        if t != self.duration_ms:
            raise ValueError(f"duration_ms must be the sum of the steps ({t} ms)")
        return self

    def actuators(self) -> set[str]:
        return {seg.actuator for step in self.steps for seg in step.segments}
