"""The protocol model: what a clinician prescribes, as a typed schema (pydantic 2).

One model serves the commented TOML files clinicians write, the JSON the web page sends
and the JSON Schema editors use (``protocol_json_schema``). Field-level rules (types,
ranges, unknown keys) live here so that pydantic reports them all at once; rules that
span fields (a step above the protocol's own caps, duplicate level names, forbidden body
sites) are in ``station.protocols.load.cross_check`` so they can name the exact path.

Times are seconds (floats) because people write "180 s"; the compiler turns them into
integer milliseconds.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from station.engine.brushpath import one_axis_problem
from station.protocols.discriminate_rules import discriminate_problem
from station.protocols.effects import EFFECT_ID_MAX, EFFECT_ID_MIN, resolve_effect

SLUG = r"^[a-z][a-z0-9_-]{0,47}$"
SLUG_RE = re.compile(SLUG)
VERSION = r"^[0-9]{1,6}(\.[0-9]{1,6}){0,2}$"
MAX_STEP_S = 3600.0
MAX_LADDERS, MAX_LEVELS, MAX_STEPS = 12, 40, 60

Slug = Annotated[str, Field(pattern=SLUG, description="lower-case id: a-z, 0-9, _ or -")]
Text = Annotated[str, Field(max_length=2000)]
ShortText = Annotated[str, Field(min_length=1, max_length=120)]
Seconds = Annotated[float, Field(gt=0, le=MAX_STEP_S, description="seconds")]
Actuator = Annotated[
    str, Field(pattern=SLUG, description="an actuator name from the wiring config")
]
EffectId = Annotated[
    int,
    BeforeValidator(resolve_effect),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": EFFECT_ID_MIN, "maximum": EFFECT_ID_MAX},
                {"type": "string", "description": "effect name, e.g. 'Soft Bump - 60%'"},
            ]
        }
    ),
]


class _Strict(BaseModel):
    """Unknown keys are errors (a typo must not silently become a default); no NaN/inf;
    strict types so that "30" is not quietly read as 30."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Intensity(_Strict):
    """Exactly one of: percent of the device's full scale, or a multiple of the patient's
    measured detection threshold (the more meaningful measure for a sensitive patient)."""

    percent: float | None = Field(None, gt=0, le=100, description="percent of full scale")
    times_threshold: float | None = Field(
        None, gt=0, le=20, description="multiple of the patient's detection threshold"
    )

    @model_validator(mode="after")
    def _one(self) -> Intensity:
        if (self.percent is None) == (self.times_threshold is None):
            raise ValueError(
                "give exactly one of percent (of full scale) or times_threshold "
                "(multiple of the patient's detection threshold), e.g. { percent = 30 }"
            )
        return self


class Pattern(_Strict):
    """On/off bursts; each burst ramps up and down."""

    on_s: float = Field(gt=0, le=60)
    off_s: float = Field(ge=0, le=60)


class _Step(_Strict):
    label: str | None = Field(None, max_length=120, description="shown on the station")
    site: Slug | None = Field(None, description="body site; must be one of body_sites")


class VibrateStep(_Step):
    kind: Literal["vibrate"]
    actuators: list[Actuator] = Field(min_length=1, max_length=8)
    intensity: Intensity
    duration_s: Seconds
    ramp_s: float = Field(0.5, ge=0.02, le=30, description="ramp up and down (no jumps)")
    pattern: Pattern | None = None

    @model_validator(mode="after")
    def _ramp_fits(self) -> VibrateStep:
        burst = self.pattern.on_s if self.pattern else self.duration_s
        if 2 * self.ramp_s > burst:
            raise ValueError(
                f"ramp_s ({self.ramp_s} s) up and down must fit in each burst ({burst} s); "
                f"use ramp_s <= {burst / 2:g}"
            )
        return self


class TapStep(_Step):
    kind: Literal["tap"]
    actuators: list[Actuator] = Field(min_length=1, max_length=8)
    effect: EffectId
    taps_per_second: float = Field(gt=0, le=10)
    duration_s: Seconds


class BrushStep(_Step):
    kind: Literal["brush"]
    actuator: Actuator
    speed_cm_s: float = Field(gt=0, le=100, description="C-tactile optimum is about 3")
    stroke_cm: float = Field(gt=0, le=100)
    strokes: int = Field(ge=1, le=2000)
    pause_s: float = Field(0, ge=0, le=600, description="pause between strokes")
    direction: Literal["forward", "backward", "alternate"] = Field(
        "alternate",
        description="alternate: away from park, then back, each pass a stroke (the only "
        "choice for more than one stroke: the one-axis arm cannot lift off the skin); "
        "forward/backward: a single stroke",
    )
    patient_speed: bool = Field(
        True, description="the patient's preferred brushing speed (if set) replaces speed_cm_s"
    )

    @model_validator(mode="after")
    def _one_axis(self) -> BrushStep:
        why = one_axis_problem(self.direction, self.strokes)
        if why:
            raise ValueError(why)
        return self


class ManualStep(_Step):
    kind: Literal["manual"]
    instruction: Text = Field(min_length=1)
    duration_s: Seconds


class RestStep(_Step):
    kind: Literal["rest"]
    duration_s: Seconds
    instruction: str | None = Field(None, max_length=2000)


class RateStep(_Step):
    kind: Literal["rate"]
    pleasantness: bool = False
    lingering: bool = Field(False, description="also ask whether a sensation lingers")
    prompt: str | None = Field(None, max_length=300)
    duration_s: float = Field(30, gt=0, le=600, description="time allowed to answer")


class Probe(_Strict):
    name: Slug = Field(description="what the patient answers with, e.g. 'strong'")
    intensity: Intensity
    pattern: Pattern | None = Field(None, description="bursts within the stimulus")


class Adaptive(_Strict):
    """After each block with at least ``after_block_correct_percent`` correct, the stronger
    probe moves ``closer_by_percent`` (points of full scale) toward the weaker one from the
    next session on, never closer than ``min_difference_percent``."""

    after_block_correct_percent: float = Field(90, gt=0, le=100)
    closer_by_percent: float = Field(gt=0, le=50, description="points of full scale")
    min_difference_percent: float = Field(gt=0, le=100, description="points of full scale")


class DiscriminateStep(_Step):
    """Discrimination training (Moseley, Pain 2009): the patient names which site (and
    which probe) was touched, random order, blocks with rest; unanswered within answer_s:
    missed. Sites are haptic actuators placed on distinct body sites."""

    kind: Literal["discriminate"]
    sites: list[Actuator] = Field(min_length=2, max_length=8, description="haptic actuators")
    intensity: Intensity = Field(description="each stimulus (without probes)")
    probes: list[Probe] | None = Field(None, description="exactly two, clearly different")
    stimuli_per_block: int = Field(24, ge=2, le=200)
    blocks: int = Field(3, ge=1, le=10)
    stimulus_s: float = Field(1.0, ge=0.1, le=10, description="each stimulus, ramps included")
    ramp_s: float = Field(0.1, ge=0.02, le=5, description="ramp up and down (no jumps)")
    answer_s: float = Field(3.0, ge=0.5, le=60, description="time to answer after the stimulus")
    interval_s: float = Field(1.0, ge=0, le=60, description="pause before the next stimulus")
    rest_s: float = Field(60, ge=0, le=600, description="rest between blocks")
    feedback: bool = Field(True, description="say at once whether the answer was right")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="none: new each session")
    adaptive: Adaptive | None = Field(None, description="harder probes as the patient improves")

    @property
    def duration_s(self) -> float:
        """Every stimulus with its answer window, the pauses between, rests between blocks."""
        n, each = self.stimuli_per_block, self.stimulus_s + self.answer_s
        block = n * each + (n - 1) * self.interval_s
        return self.blocks * block + (self.blocks - 1) * self.rest_s

    @model_validator(mode="after")
    def _rules(self) -> DiscriminateStep:
        why = discriminate_problem(self, max_step_s=MAX_STEP_S)
        if why:
            raise ValueError(why)
        return self


Step = Annotated[
    VibrateStep | TapStep | BrushStep | ManualStep | RestStep | RateStep | DiscriminateStep,
    Field(discriminator="kind"),
]


class Level(_Strict):
    id: Slug | None = Field(None, description="required in ladders the patient ranks")
    name: ShortText
    description: str | None = Field(None, max_length=2000)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)


class Progression(_Strict):
    """When to move up, hold or step back. No validated thresholds exist: the clinician
    sets them per protocol (clinical reference, "Ratings")."""

    rating: Literal["max", "mean", "last"] = Field(
        "max", description="which of a session's discomfort ratings counts"
    )
    advance_max_rating: int = Field(
        3, ge=0, le=10, description="a session qualifies when its counted rating is at most this"
    )
    advance_after_sessions: int = Field(
        3, ge=1, le=100, description="consecutive qualifying sessions needed to move up"
    )
    advance_min_days: int = Field(
        1, ge=1, le=60, description="the qualifying run must span at least this many days"
    )
    back_min_rating: int = Field(
        7, ge=1, le=10, description="a session rated at least this counts toward stepping back"
    )
    back_after_sessions: int = Field(
        2, ge=1, le=100, description="consecutive such sessions (or stops) that step back"
    )
    stop_threshold: int = Field(
        8, ge=1, le=10, description="a live rating at or above this ends the step at once"
    )

    @model_validator(mode="after")
    def _order(self) -> Progression:
        if not self.advance_max_rating < self.back_min_rating <= self.stop_threshold:
            raise ValueError(
                "need advance_max_rating < back_min_rating <= stop_threshold (got "
                f"{self.advance_max_rating}, {self.back_min_rating}, {self.stop_threshold})"
            )
        return self


class Ladder(_Strict):
    name: Slug
    modality: Literal["vibration", "tapping", "brushing", "texture", "immersion", "manual", "mixed"]
    ranked_by_patient: bool = Field(
        False, description="the patient orders the levels at intake (Barber approach)"
    )
    description: str | None = Field(None, max_length=2000)
    progression: Progression | None = Field(None, description="overrides the protocol's")
    levels: list[Level] = Field(min_length=1, max_length=MAX_LEVELS)


class Caps(_Strict):
    """Clinician caps (layer 2 of 3): bounded by the device limits, bounding the patient."""

    max_intensity_percent: float = Field(gt=0, le=100)
    max_brush_speed_cm_s: float = Field(10, gt=0, le=100)
    max_session_minutes: float = Field(gt=0, le=120)
    sessions_per_day: int = Field(ge=1, le=24)
    min_minutes_between_sessions: float = Field(0, ge=0, le=1440)


# Caps a lower value makes stricter; min_minutes_between_sessions is stricter when higher.
TIGHTER_IS_HIGHER = ("min_minutes_between_sessions",)


class Protocol(_Strict):
    id: Slug
    name: ShortText
    version: str = Field(pattern=VERSION, description="e.g. 1, 1.2 or 1.2.3")
    author: ShortText
    body_sites: list[Slug] = Field(min_length=1, max_length=20)
    avoid_sites: list[Slug] = Field(
        default_factory=list, max_length=20, description="never stimulated (opposite rule)"
    )
    patient_notes: str | None = Field(None, max_length=4000)
    clinician_notes: str | None = Field(None, max_length=4000)
    caps: Caps
    progression: Progression = Progression()
    ladders: list[Ladder] = Field(min_length=1, max_length=MAX_LADDERS)

    def ladder(self, name: str | None = None) -> Ladder:
        """The named ladder (the first when None); KeyError lists the names."""
        if name is None:
            return self.ladders[0]
        for ladder in self.ladders:
            if ladder.name == name:
                return ladder
        raise KeyError(f"no ladder {name!r}; this protocol has {[x.name for x in self.ladders]}")

    def progression_for(self, ladder: str | None = None) -> Progression:
        return self.ladder(ladder).progression or self.progression

    def version_key(self) -> tuple[int, ...]:
        return version_key(self.version)


def version_key(version: str) -> tuple[int, ...]:
    """'1.2' -> (1, 2, 0) so that versions sort as numbers."""
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def protocol_json_schema() -> dict[str, Any]:
    schema = Protocol.model_json_schema()
    schema["title"] = "Station protocol"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def with_caps(protocol: Protocol, over: dict[str, Any]) -> Protocol:
    """``protocol`` with the clinician's page caps ``over`` applied, each only tightening
    the protocol's own (layer 2 stays bounded by the file). ValidationError when the
    result is not a valid set of caps."""
    if not over:
        return protocol
    caps = protocol.caps.model_dump()
    for key, value in over.items():
        if key in caps:
            tighter = max if key in TIGHTER_IS_HIGHER else min
            caps[key] = tighter(caps[key], value)
    return protocol.model_copy(update={"caps": Caps.model_validate(caps)})
