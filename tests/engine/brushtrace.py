"""Reading the brush's motion back from the simulator's trace of PWM duty writes.

Why its own module: the approach and resume tests both judge motion the same way (duty
write -> position on the skin, the largest step between writes against a speed), and the
mapping is restated here from the datasheet rather than taken from the code under test.
"""

from __future__ import annotations

import itertools
import math

from station.wiring import BrushConfig

RENDER_MS = 0.5  # from a wake-up to its duty write landing, generously
# The engine loop runs at 1 kHz and the pacer writes on the first tick after a PWM frame
# has passed since its last write, so two paced writes are a frame plus up to one tick
# apart (tick jitter can leave the frame a hair short at the 20th tick).
TICK_MS = 1.0


def to_cm(cfg: BrushConfig, duty_ns: int) -> float:
    """Position along the travel for a duty cycle: the datasheet mapping restated here
    (pulse -> angle -> arc length from min_angle_deg)."""
    span = cfg.pulse_max_us - cfg.pulse_min_us
    angle = (duty_ns / 1000 - cfg.pulse_min_us) / span * cfg.servo_range_deg
    return math.radians(angle - cfg.min_angle_deg) * cfg.radius_cm


def park_cm(cfg: BrushConfig) -> float:
    """Where the park write puts the arm (the park pulse, rounded to whole ns)."""
    span = cfg.pulse_max_us - cfg.pulse_min_us
    pulse = cfg.pulse_min_us + cfg.park_angle_deg / cfg.servo_range_deg * span
    return to_cm(cfg, round(pulse * 1000))


def duty_step_cm(cfg: BrushConfig) -> float:
    """Skin distance of one 1 ns duty step: each written position is rounded to it."""
    return (
        math.radians(cfg.servo_range_deg / ((cfg.pulse_max_us - cfg.pulse_min_us) * 1000))
        * cfg.radius_cm
    )


def positions(trace, cfg: BrushConfig, t0: int) -> list[tuple[float, float]]:
    """(ms since ``t0``, position cm) of every duty write to the brush."""
    return [
        ((r.t_ns - t0) / 1e6, to_cm(cfg, r.value)) for r in trace.select("brush", "duty_cycle_ns")
    ]


def held(pts: list[tuple[float, float]], t_ms: float) -> float:
    """The position last written at or before ``t_ms``."""
    return [p for t, p in pts if t <= t_ms][-1]


def worst_step(
    pts: list[tuple[float, float]], speed_cm_s: float, slack_ms: float
) -> tuple[float, float]:
    """The largest step between consecutive writes, and how far it went beyond what
    ``speed_cm_s`` allows in the time between them (<= 0: within the speed).

    A write lands after its tick's deadline by however late the loop woke (plus the
    render): the deadlines of two writes can be up to that much further apart than the
    writes themselves, so ``slack_ms`` is the loop's own measured worst lateness (plus how
    old a paced position could be when it went out: the pacer's ``max_age_ns``)."""
    big, over = 0.0, -math.inf
    for (ta, pa), (tb, pb) in itertools.pairwise(pts):
        step = abs(pb - pa)
        big = max(big, step)
        over = max(over, step - speed_cm_s * (tb - ta + slack_ms) / 1000)
    return big, over
