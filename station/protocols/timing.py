"""How long steps take, shared by validation (session-length caps) and the compiler so
that a protocol that validates is one that compiles within the same caps."""

from __future__ import annotations

import math

from station.protocols.model import BrushStep, Level, RateStep

# Assumed when no wiring is at hand (validation without a config): the default brush's
# max_accel_cm_s2. The compiler always uses the wiring's own value.
DEFAULT_ACCEL_CM_S2 = 60.0


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


def level_duration_s(
    level: Level, *, speed_cm_s: float | None = None, accel_cm_s2: float = DEFAULT_ACCEL_CM_S2
) -> float:
    total = 0.0
    for step in level.steps:
        speed = speed_cm_s if isinstance(step, BrushStep) and step.patient_speed else None
        total += step_duration_s(step, speed_cm_s=speed, accel_cm_s2=accel_cm_s2)
    return total
