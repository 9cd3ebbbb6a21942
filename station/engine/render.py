"""Pure rendering: (segment, program time) -> setpoint. No hardware, no clock, no state.

The engine calls these every tick for every active segment, so they are small closed-form
functions of time: the same time always gives the same setpoint, which is what lets the
fidelity tests compare the simulator's trace against the program exactly.

Times are float milliseconds from the start of the program (ticks fall between whole ms).
Levels are fractions of full scale (already limited by the compiler); ``rtp_code`` turns a
level into the DRV2605's unsigned RTP code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from station.program import AmplitudeSegment, BrushSegment, TapSegment

RTP_FULL_SCALE = 255


def rtp_code(level: float) -> int:
    """Unsigned RTP code (0..255) for a level (0..1), rounded to the nearest step."""
    if level <= 0.0:
        return 0
    if level >= 1.0:
        return RTP_FULL_SCALE
    return int(level * RTP_FULL_SCALE + 0.5)


def _burst_envelope(phase_ms: float, on_ms: float, up_ms: float, down_ms: float) -> float:
    """0..1 inside one burst of length ``on_ms``: linear ramp up, hold, linear ramp down.

    When the ramps do not fit in the burst they are scaled down together, so the envelope
    is a (lower) triangle instead of a step: never a jump."""
    if phase_ms < 0.0 or phase_ms >= on_ms:
        return 0.0
    if up_ms + down_ms > on_ms:
        scale = on_ms / (up_ms + down_ms)
        up_ms *= scale
        down_ms *= scale
    rising = phase_ms / up_ms if up_ms > 0 else 1.0
    falling = (on_ms - phase_ms) / down_ms if down_ms > 0 else 1.0
    return min(1.0, rising, falling)


def amplitude_level(seg: AmplitudeSegment, t_ms: float) -> float:
    """The commanded level of an amplitude segment at program time ``t_ms`` (0 outside).

    Without ``on_ms`` the whole segment is one burst (ramp up at its start, ramp down to
    its end). With ``on_ms``/``off_ms`` it repeats bursts of ``on_ms`` every
    ``on_ms + off_ms``, each ramped; a last burst cut by the segment's end still ramps
    down, because the ramp is computed against the earlier of burst end and segment end."""
    rel = t_ms - seg.start_ms
    if rel < 0.0 or rel >= seg.duration_ms:
        return 0.0
    if seg.on_ms is None:
        env = _burst_envelope(rel, seg.duration_ms, seg.ramp_up_ms, seg.ramp_down_ms)
        return seg.level * env
    period = seg.on_ms + (seg.off_ms or 0)
    burst_start = math.floor(rel / period) * period
    on_ms = min(seg.on_ms, seg.duration_ms - burst_start)
    env = _burst_envelope(rel - burst_start, on_ms, seg.ramp_up_ms, seg.ramp_down_ms)
    return seg.level * env


def tap_times(seg: TapSegment) -> list[int]:
    """Every tap of a tap segment, in program ms: ``start_ms + k * interval_ms`` < end."""
    return list(range(seg.start_ms, seg.end_ms, seg.interval_ms))


def taps_due(seg: TapSegment, after_ms: float, upto_ms: float) -> int:
    """How many taps fall in the half-open window (after_ms, upto_ms].

    The engine asks this with the previous and the current tick time, so a tap is played
    exactly once even when a tick is late or skipped (then it plays on the next tick)."""
    lo = max(after_ms, seg.start_ms - 1e-9)
    hi = min(upto_ms, seg.end_ms - 1e-9)
    if hi <= lo:
        return 0
    first = math.floor((lo - seg.start_ms) / seg.interval_ms) + 1
    last = math.floor((hi - seg.start_ms) / seg.interval_ms)
    return max(0, last - max(first, 0) + 1)


@dataclass(frozen=True, slots=True)
class Trapezoid:
    """The motion of one stroke: accelerate at ``accel``, cruise at ``v_peak``, decelerate.

    Units are cm, cm/s, cm/s^2 and ms. When the stroke is too short to reach the
    prescribed speed the profile is a triangle and ``v_peak`` is below it (the compiler
    should prevent that; the engine still never exceeds the acceleration bound)."""

    length_cm: float
    v_peak: float
    accel: float
    t_acc_ms: float
    t_cruise_ms: float

    @classmethod
    def for_stroke(cls, *, length_cm: float, speed_cm_s: float, accel_cm_s2: float) -> Trapezoid:
        d_acc = speed_cm_s * speed_cm_s / (2.0 * accel_cm_s2)
        if 2.0 * d_acc <= length_cm:
            v = speed_cm_s
            cruise_s = (length_cm - 2.0 * d_acc) / v
        else:
            v = math.sqrt(accel_cm_s2 * length_cm)
            cruise_s = 0.0
        return cls(length_cm, v, accel_cm_s2, 1000.0 * v / accel_cm_s2, 1000.0 * cruise_s)

    @property
    def duration_ms(self) -> float:
        return 2.0 * self.t_acc_ms + self.t_cruise_ms

    def distance(self, t_ms: float) -> float:
        """Distance travelled (cm) ``t_ms`` after the stroke began; clamped to 0..length."""
        if t_ms <= 0.0:
            return 0.0
        ta, tc = self.t_acc_ms, self.t_cruise_ms
        if t_ms >= 2.0 * ta + tc:
            return self.length_cm
        t = t_ms / 1000.0
        a = self.accel
        if t_ms < ta:
            return 0.5 * a * t * t
        d_acc = 0.5 * self.v_peak * ta / 1000.0
        if t_ms < ta + tc:
            return d_acc + self.v_peak * (t - ta / 1000.0)
        rem = (2.0 * ta + tc - t_ms) / 1000.0  # time left before rest
        return self.length_cm - 0.5 * a * rem * rem


@dataclass(frozen=True, slots=True)
class BrushState:
    """Where the brush should be: ``position_cm`` on the travel, or ``None`` = parked."""

    position_cm: float | None
    strokes_done: int


def brush_profile(seg: BrushSegment) -> Trapezoid:
    return Trapezoid.for_stroke(
        length_cm=seg.stroke_cm, speed_cm_s=seg.speed_cm_s, accel_cm_s2=seg.accel_cm_s2
    )


def brush_origin(seg: BrushSegment, travel_cm: float) -> float:
    """Strokes are centred on the calibrated travel (the stroke must fit in it)."""
    if seg.stroke_cm > travel_cm + 1e-9:
        raise ValueError(
            f"brush segment on {seg.actuator!r}: stroke_cm {seg.stroke_cm} is longer than "
            f"the brush's calibrated travel ({travel_cm:.2f} cm); shorten the stroke"
        )
    return max(0.0, (travel_cm - seg.stroke_cm) / 2.0)


def brush_position(
    seg: BrushSegment, t_ms: float, *, travel_cm: float, profile: Trapezoid | None = None
) -> BrushState:
    """The brush setpoint at program time ``t_ms`` for a brush segment.

    Outside the segment the brush is parked. Inside, stroke ``k`` starts at
    ``start_ms + k * (stroke duration + pause_ms)``; between strokes and after the last
    one the brush rests where the last stroke ended (on the skin, not moving)."""
    rel = t_ms - seg.start_ms
    if rel < 0.0 or rel >= seg.duration_ms:
        return BrushState(None, 0)
    prof = profile or brush_profile(seg)
    origin = brush_origin(seg, travel_cm)
    cycle = prof.duration_ms + seg.pause_ms
    k = min(int(rel // cycle), seg.strokes - 1)
    into = rel - k * cycle
    done = k + (1 if into >= prof.duration_ms else 0)
    forward = seg.direction == "forward" or (seg.direction == "alternate" and k % 2 == 0)
    d = prof.distance(into)
    pos = origin + (d if forward else seg.stroke_cm - d)
    return BrushState(pos, done)
