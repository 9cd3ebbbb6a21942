"""Pure rendering: (segment, program time) -> setpoint. No hardware, no clock, no state.

Brush segments are first laid out on their brush (``BrushPath.plan``: park position,
travel, approach speed), then rendered the same way: lead-in from park, strokes, lead-out.

The engine calls these every tick for every active segment, so they are small closed-form
functions of time: the same time always gives the same setpoint, which is what lets the
fidelity tests compare the simulator's trace against the program exactly.

Times are float milliseconds from the start of the program (ticks fall between whole ms).
Levels are fractions of full scale (already limited by the compiler); ``rtp_code`` turns a
level into the DRV2605's signed RTP code (0..127, never negative: see hardware/README.md,
"The drive that reaches the skin").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from station.program import AmplitudeSegment, BrushSegment, TapSegment

# Signed RTP (CONTROL3 DATA_FORMAT_RTP = 0): 0x00 is no drive and 0x7F full scale in every
# loop mode the DRV2605L has (open loop: OD_CLAMP; closed loop: RATED_VOLTAGE), so the
# station only ever writes 0..127 and a zero is silence whatever the chip's loop settings.
RTP_FULL_SCALE = 127
# A level that is exactly k/127 must give k, not k-1, after float rounding.
_EPS = 1e-9


def rtp_code(level: float) -> int:
    """Signed RTP code (0..127) for a level (0..1), rounded DOWN to a step, so the code
    never stands for more than the level (a 50 % cap gives 63/127 = 49.6 %, not 50.4 %)."""
    if level <= 0.0:
        return 0
    if level >= 1.0:
        return RTP_FULL_SCALE
    return int(level * RTP_FULL_SCALE + _EPS)


def code_level(code: int) -> float:
    """The fraction of full scale a signed RTP code 0..127 drives (the inverse of
    ``rtp_code`` on whole steps)."""
    return code / RTP_FULL_SCALE


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
    """Where the brush should be: ``position_cm`` on its path, or ``None`` = parked.

    During the lead-in and lead-out the position lies between the park position and the
    travel (off the skin until it reaches 0 or ``travel_cm``)."""

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
    return _centred(seg.stroke_cm, travel_cm)


def _centred(stroke_cm: float, travel_cm: float) -> float:
    return max(0.0, (travel_cm - stroke_cm) / 2.0)


# Float slack when comparing a move's exact duration with whole-ms lead times (10 us).
LEAD_TOLERANCE_MS = 0.01


def _forward(direction: str, k: int) -> bool:
    return direction == "forward" or (direction == "alternate" and k % 2 == 0)


def stroke_ends(
    *, stroke_cm: float, strokes: int, direction: str, travel_cm: float
) -> tuple[float, float]:
    """Where the first stroke starts and the last one ends (strokes centred on the travel)."""
    origin = _centred(stroke_cm, travel_cm)
    first = origin if _forward(direction, 0) else origin + stroke_cm
    last = origin + stroke_cm if _forward(direction, strokes - 1) else origin
    return first, last


def approach_move(*, distance_cm: float, speed_cm_s: float, accel_cm_s2: float) -> Trapezoid:
    """The timed move between park and the skin: a trapezoid like a stroke, at the brush's
    ``approach_speed_cm_s`` (the wiring keeps it <= max_speed_cm_s) and the segment's
    acceleration (<= max_accel_cm_s2), so getting on and off the skin is ramped too."""
    return Trapezoid.for_stroke(
        length_cm=abs(distance_cm), speed_cm_s=speed_cm_s, accel_cm_s2=accel_cm_s2
    )


def lead_times_ms(
    *,
    stroke_cm: float,
    strokes: int,
    direction: str,
    travel_cm: float,
    park_cm: float,
    approach_speed_cm_s: float,
    accel_cm_s2: float,
) -> tuple[int, int]:
    """Whole-ms lead-in and lead-out the compiler puts inside a brush segment: the moves
    park -> first stroke start and last stroke end -> park (rounded up, so they fit)."""
    first, last = stroke_ends(
        stroke_cm=stroke_cm, strokes=strokes, direction=direction, travel_cm=travel_cm
    )
    times = []
    for a, b in ((park_cm, first), (last, park_cm)):
        move = approach_move(distance_cm=b - a, speed_cm_s=approach_speed_cm_s,
                             accel_cm_s2=accel_cm_s2)  # fmt: skip
        times.append(math.ceil(move.duration_ms - LEAD_TOLERANCE_MS))
    return times[0], times[1]


@dataclass(frozen=True, slots=True)
class BrushPath:
    """One brush segment laid out ahead of time on one brush: the approach from park, the
    strokes, the retreat to park. Built once before the first tick (the engine's per-tick
    work is a closed-form lookup), the same way the compiler computed the lead times."""

    seg: BrushSegment
    stroke: Trapezoid
    origin_cm: float
    park_cm: float
    first_cm: float
    last_cm: float
    approach: Trapezoid
    retreat: Trapezoid

    @classmethod
    def plan(
        cls, seg: BrushSegment, *, travel_cm: float, park_cm: float, approach_speed_cm_s: float
    ) -> BrushPath:
        origin = brush_origin(seg, travel_cm)
        first, last = stroke_ends(stroke_cm=seg.stroke_cm, strokes=seg.strokes,
                                  direction=seg.direction, travel_cm=travel_cm)  # fmt: skip
        move = {"speed_cm_s": approach_speed_cm_s, "accel_cm_s2": seg.accel_cm_s2}
        return cls(
            seg=seg,
            stroke=brush_profile(seg),
            origin_cm=origin,
            park_cm=park_cm,
            first_cm=first,
            last_cm=last,
            approach=approach_move(distance_cm=first - park_cm, **move),
            retreat=approach_move(distance_cm=park_cm - last, **move),
        )

    @property
    def strokes_ms(self) -> float:
        """From the first stroke's start to the last one's end (pauses between)."""
        s = self.seg
        return s.strokes * self.stroke.duration_ms + (s.strokes - 1) * s.pause_ms

    def problems(self) -> list[str]:
        """Why this segment cannot be played as laid out (empty when it can): a lead-in or
        lead-out too short for the move, or strokes that would be cut by the retreat."""
        s, tol = self.seg, LEAD_TOLERANCE_MS
        out = []
        if self.approach.duration_ms > s.lead_in_ms + tol:
            out.append(
                f"lead_in_ms = {s.lead_in_ms}; the move from park to the first stroke takes "
                f"{self.approach.duration_ms:.0f} ms on this brush (no jumps onto the skin); "
                "compile the program again for this wiring"
            )
        if self.retreat.duration_ms > s.lead_out_ms + tol:
            out.append(
                f"lead_out_ms = {s.lead_out_ms}; the move from the last stroke back to park "
                f"takes {self.retreat.duration_ms:.0f} ms on this brush (no jumps off the "
                "skin); compile the program again for this wiring"
            )
        room = s.duration_ms - s.lead_in_ms - s.lead_out_ms
        if self.strokes_ms > room + tol:
            out.append(
                f"{s.strokes} stroke(s) take {self.strokes_ms:.0f} ms but duration_ms leaves "
                f"{room} ms between lead-in and lead-out; a stroke would be cut mid-move"
            )
        return out


def _along(a: float, b: float, move: Trapezoid, t_ms: float) -> float:
    d = move.distance(t_ms)
    return a + d if b >= a else a - d


def brush_position(path: BrushPath, t_ms: float) -> BrushState:
    """The brush setpoint at program time ``t_ms`` for a planned brush segment.

    Outside the segment the brush is parked. The segment opens with the approach from
    park (then rests at the first stroke's start until ``lead_in_ms``); stroke ``k``
    starts ``lead_in_ms + k * (stroke duration + pause_ms)`` after ``start_ms``; between
    strokes and after the last one the brush rests where the last stroke ended; the last
    ``lead_out_ms`` retreat to park, and once there the brush counts as parked."""
    seg = path.seg
    rel = t_ms - seg.start_ms
    if rel < 0.0 or rel >= seg.duration_ms:
        return BrushState(None, 0)
    if rel < seg.lead_in_ms:
        return BrushState(_along(path.park_cm, path.first_cm, path.approach, rel), 0)
    out_at = seg.duration_ms - seg.lead_out_ms
    if rel >= out_at:
        into = rel - out_at
        if into >= path.retreat.duration_ms:
            return BrushState(None, seg.strokes)
        return BrushState(_along(path.last_cm, path.park_cm, path.retreat, into), seg.strokes)
    rel -= seg.lead_in_ms
    prof = path.stroke
    cycle = prof.duration_ms + seg.pause_ms
    k = min(int(rel // cycle), seg.strokes - 1)
    into = rel - k * cycle
    done = k + (1 if into >= prof.duration_ms else 0)
    d = prof.distance(into)
    pos = path.origin_cm + (d if _forward(seg.direction, k) else seg.stroke_cm - d)
    return BrushState(pos, done)
