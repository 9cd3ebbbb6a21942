"""How long steps take, shared by validation (session-length caps) and the compiler so
that a protocol that validates is one that compiles within the same caps.

A brush step lasts its strokes *plus* the timed glides from park onto the skin and back
(the lead-in and lead-out the compiler puts inside the segment: off the skin at the
brush's approach speed, on it at the stroke's own speed, 2-3 s each at 3 cm/s on the
default brush). With the station's wiring at hand those are the exact lead times the compiler
will lay out; without it (validating a file on its own) a conservative allowance is
counted instead, so a level shown and accepted within ``max_session_minutes`` is not
refused later by the compiler's cap check for want of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from station.engine.brushpath import lead_times_ms
from station.protocols.model import BrushStep, Level, RateStep
from station.wiring import BrushConfig, WiringConfig

# Assumed when no wiring is at hand (validation without a config): the default brush's
# max_accel_cm_s2. The compiler always uses the wiring's own value.
DEFAULT_ACCEL_CM_S2 = 60.0

# The lead-time allowance without a wiring. Assumption (documented for the clinician's
# view too): a brush like the default one, parked 20 degrees before a 50..130 degree
# travel on an 8 cm arm, i.e. park is 4.19 cm off the skin and the travel 11.17 cm long,
# approached at 10 cm/s. Each of the lead-in and lead-out is a glide: at most
# ASSUMED_OFF_SKIN_CM off the skin at the approach speed, then at most ASSUMED_ON_SKIN_CM
# on it (from the edge to wherever the strokes start or end) at the stroke's speed, so on
# such a brush the allowance is never below the exact lead times. A brush with a longer
# path or a slower approach_speed_cm_s: validate with the wiring (exact times); the
# compiler's cap check stays the last word either way.
ASSUMED_OFF_SKIN_CM = 4.2
ASSUMED_ON_SKIN_CM = 11.2
ASSUMED_APPROACH_SPEED_CM_S = 10.0


def stroke_time_s(stroke_cm: float, speed_cm_s: float, accel_cm_s2: float) -> float:
    """Trapezoid profile: accelerate to speed, cruise, decelerate to rest at stroke end;
    a stroke too short to reach the speed is a triangle."""
    ramp_cm = speed_cm_s * speed_cm_s / accel_cm_s2
    if stroke_cm >= ramp_cm:
        return stroke_cm / speed_cm_s + speed_cm_s / accel_cm_s2
    return 2 * math.sqrt(stroke_cm / accel_cm_s2)


def brush_duration_s(step: BrushStep, speed_cm_s: float, accel_cm_s2: float) -> float:
    each = stroke_time_s(step.stroke_cm, speed_cm_s, accel_cm_s2)
    return step.strokes * each + (step.strokes - 1) * step.pause_s


def step_duration_s(
    step: object, *, speed_cm_s: float | None = None, accel_cm_s2: float = DEFAULT_ACCEL_CM_S2
) -> float:
    if isinstance(step, BrushStep):
        return brush_duration_s(step, speed_cm_s or step.speed_cm_s, accel_cm_s2)
    if isinstance(step, RateStep):
        return step.duration_s
    return float(step.duration_s)  # type: ignore[attr-defined]


def exact_leads_ms(
    step: BrushStep, brush: BrushConfig, speed_cm_s: float | None = None
) -> tuple[int, int]:
    """Lead-in and lead-out of ``step`` on ``brush`` in whole ms, exactly as the compiler
    lays them out (the brush's own acceleration and approach speed; on the skin the glide
    keeps to the stroke speed ``speed_cm_s``, default the step's own)."""
    return lead_times_ms(
        stroke_cm=step.stroke_cm,
        strokes=step.strokes,
        direction=step.direction,
        travel_cm=brush.travel_cm,
        park_cm=brush.park_cm,
        approach_speed_cm_s=brush.approach_speed_cm_s,
        speed_cm_s=speed_cm_s or step.speed_cm_s,
        accel_cm_s2=brush.max_accel_cm_s2,
    )


def brush_lead_ms(
    step: BrushStep, brush: BrushConfig | None = None, speed_cm_s: float | None = None
) -> int:
    """Lead-in + lead-out of ``step`` in whole ms: exact on ``brush``, or the conservative
    allowance above when the brush is unknown.

    The allowance: each glide has two trapezoid legs (off the skin at the approach speed
    v1, on it at the stroke speed v2 = min(v1, the step's)), and a trapezoid over d at top
    speed v takes at most d/v + v/a (a triangle's 2*sqrt(d/a) is below that too)."""
    if brush is None:
        v1, a = ASSUMED_APPROACH_SPEED_CM_S, DEFAULT_ACCEL_CM_S2
        v2 = min(v1, speed_cm_s or step.speed_cm_s)
        one_s = ASSUMED_OFF_SKIN_CM / v1 + v1 / a + ASSUMED_ON_SKIN_CM / v2 + v2 / a
        return 2 * math.ceil(one_s * 1000)
    return sum(exact_leads_ms(step, brush, speed_cm_s))


@dataclass(frozen=True, slots=True)
class LevelTiming:
    """A level's estimated length and how much of it is brush lead-in/lead-out."""

    total_s: float
    lead_s: float
    exact_leads: bool  # False: the no-wiring allowance was counted for some brush step


def level_timing(
    level: Level,
    *,
    speed_cm_s: float | None = None,
    accel_cm_s2: float = DEFAULT_ACCEL_CM_S2,
    wiring: WiringConfig | None = None,
) -> LevelTiming:
    """The level's length as the compiler will lay it out: whole ms per step like the
    compiler, brush steps with their lead times (see ``brush_lead_ms``) and, when the
    brush is in ``wiring``, its own acceleration."""
    brushes = {b.name: b for b in wiring.brush} if wiring is not None else {}
    total_ms = lead_ms = 0
    exact = True
    for step in level.steps:
        if isinstance(step, BrushStep):
            brush = brushes.get(step.actuator)
            exact = exact and brush is not None
            speed = (speed_cm_s if step.patient_speed else None) or step.speed_cm_s
            accel = brush.max_accel_cm_s2 if brush is not None else accel_cm_s2
            lead = brush_lead_ms(step, brush, speed)
            seconds = brush_duration_s(step, speed, accel)
            total_ms += lead + max(1, math.ceil(seconds * 1000))
            lead_ms += lead
        else:
            total_ms += max(1, round(step_duration_s(step) * 1000))
    return LevelTiming(total_ms / 1000, lead_ms / 1000, exact)


def level_duration_s(
    level: Level,
    *,
    speed_cm_s: float | None = None,
    accel_cm_s2: float = DEFAULT_ACCEL_CM_S2,
    wiring: WiringConfig | None = None,
) -> float:
    """Seconds the level lasts, brush lead-in/out included (``level_timing``)."""
    return level_timing(
        level, speed_cm_s=speed_cm_s, accel_cm_s2=accel_cm_s2, wiring=wiring
    ).total_s
