"""The brush's motion, laid out ahead of time and rendered as a closed-form function of
time: (brush segment, program time) -> where the arm should be. No hardware, no clock.

Why apart from ``render``: this is the one concept of moving a one-axis arm on and off the
skin. A segment is first laid out on its brush (``BrushPath.plan``: park position, travel,
approach speed), then rendered: the lead-in glides from park (off the skin at the
approach speed, on it at the stroke's speed), the strokes are trapezoids at the
prescribed speed and acceleration, the lead-out glides back to park. So every setpoint
while the bristles touch moves at most the prescribed speed; one-way strokes, which
would need a return across the skin between them, are refused (``one_axis_problem``).

Positions are cm along the skin from the ``min_angle_deg`` end of the calibrated travel
(0..travel_cm is the skin; park lies outside it); times are float ms of program time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from station.program import BrushSegment


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
    """One timed leg of a move between park and the skin: a trapezoid like a stroke, at
    most ``speed_cm_s`` and the segment's acceleration (<= max_accel_cm_s2)."""
    return Trapezoid.for_stroke(
        length_cm=abs(distance_cm), speed_cm_s=speed_cm_s, accel_cm_s2=accel_cm_s2
    )


def skin_edge(park_cm: float, travel_cm: float) -> float:
    """Where an arm coming from park meets the skin: the end of the calibrated travel on
    park's side (the bristles just touch at both ends), or park itself when the wiring
    puts park on the travel."""
    return min(max(park_cm, 0.0), travel_cm)


@dataclass(frozen=True, slots=True)
class Glide:
    """A move between park and a point on the skin in two timed legs that meet, at rest,
    at the skin's edge: off the skin at the brush's ``approach_speed_cm_s``, on the skin
    no faster than the stroke's own speed (both at the segment's acceleration). So every
    write while the bristles touch moves at most the prescribed speed, getting on and off
    the skin included; a leg of zero length takes no time."""

    a_cm: float
    edge_cm: float
    b_cm: float
    leg1: Trapezoid  # a -> edge
    leg2: Trapezoid  # edge -> b

    @classmethod
    def between(
        cls, a_cm: float, b_cm: float, *, edge_cm: float, park_cm: float,
        approach_speed_cm_s: float, stroke_speed_cm_s: float, accel_cm_s2: float,
    ) -> Glide:  # fmt: skip
        skin = min(approach_speed_cm_s, stroke_speed_cm_s)
        # from park: off the skin first; back to park: on the skin first
        v1, v2 = (approach_speed_cm_s, skin) if a_cm == park_cm else (skin, approach_speed_cm_s)
        one = approach_move(distance_cm=edge_cm - a_cm, speed_cm_s=v1, accel_cm_s2=accel_cm_s2)
        two = approach_move(distance_cm=b_cm - edge_cm, speed_cm_s=v2, accel_cm_s2=accel_cm_s2)
        return cls(a_cm, edge_cm, b_cm, one, two)

    @property
    def duration_ms(self) -> float:
        return self.leg1.duration_ms + self.leg2.duration_ms

    def position(self, t_ms: float) -> float:
        """Where the arm is ``t_ms`` after the move began (clamped to its ends)."""
        t1 = self.leg1.duration_ms
        if t_ms < t1:
            return _along(self.a_cm, self.edge_cm, self.leg1, t_ms)
        return _along(self.edge_cm, self.b_cm, self.leg2, t_ms - t1)


def glides(
    *, first_cm: float, last_cm: float, travel_cm: float, park_cm: float,
    approach_speed_cm_s: float, speed_cm_s: float, accel_cm_s2: float,
) -> tuple[Glide, Glide]:  # fmt: skip
    """The approach (park -> first stroke start) and retreat (last stroke end -> park)."""
    kw = {"edge_cm": skin_edge(park_cm, travel_cm), "park_cm": park_cm,
          "approach_speed_cm_s": approach_speed_cm_s, "stroke_speed_cm_s": speed_cm_s,
          "accel_cm_s2": accel_cm_s2}  # fmt: skip
    return Glide.between(park_cm, first_cm, **kw), Glide.between(last_cm, park_cm, **kw)


def lead_times_ms(
    *,
    stroke_cm: float,
    strokes: int,
    direction: str,
    travel_cm: float,
    park_cm: float,
    approach_speed_cm_s: float,
    speed_cm_s: float,
    accel_cm_s2: float,
) -> tuple[int, int]:
    """Whole-ms lead-in and lead-out the compiler puts inside a brush segment: the glides
    park -> first stroke start and last stroke end -> park (rounded up, so they fit); on
    the skin they go no faster than the stroke's ``speed_cm_s``."""
    first, last = stroke_ends(
        stroke_cm=stroke_cm, strokes=strokes, direction=direction, travel_cm=travel_cm
    )
    moves = glides(first_cm=first, last_cm=last, travel_cm=travel_cm, park_cm=park_cm,
                   approach_speed_cm_s=approach_speed_cm_s, speed_cm_s=speed_cm_s,
                   accel_cm_s2=accel_cm_s2)  # fmt: skip
    lead_in, lead_out = (math.ceil(m.duration_ms - LEAD_TOLERANCE_MS) for m in moves)
    return lead_in, lead_out


def one_axis_problem(direction: str, strokes: int) -> str | None:
    """Why a one-axis arm must not play these strokes (None when it may): it cannot lift
    off the skin, so after a ``forward`` (or ``backward``) stroke the next one could only
    start by dragging the brush back across the skin, an unprescribed stroke the other
    way (before issue 12 it jumped back the whole stroke in one write)."""
    if direction == "alternate" or strokes <= 1:
        return None
    return (
        f'direction = "{direction}" with {strokes} strokes: the brush is a one-axis arm '
        "that cannot lift off the skin, so every stroke would be followed by one dragged "
        'back the other way; prescribe direction = "alternate" (each pass is a stroke: '
        "away from park, then back) or a single stroke"
    )


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
    approach: Glide
    retreat: Glide

    @classmethod
    def plan(
        cls, seg: BrushSegment, *, travel_cm: float, park_cm: float, approach_speed_cm_s: float
    ) -> BrushPath:
        origin = brush_origin(seg, travel_cm)
        first, last = stroke_ends(stroke_cm=seg.stroke_cm, strokes=seg.strokes,
                                  direction=seg.direction, travel_cm=travel_cm)  # fmt: skip
        approach, retreat = glides(
            first_cm=first, last_cm=last, travel_cm=travel_cm, park_cm=park_cm,
            approach_speed_cm_s=approach_speed_cm_s, speed_cm_s=seg.speed_cm_s,
            accel_cm_s2=seg.accel_cm_s2,
        )  # fmt: skip
        return cls(
            seg=seg,
            stroke=brush_profile(seg),
            origin_cm=origin,
            park_cm=park_cm,
            first_cm=first,
            last_cm=last,
            approach=approach,
            retreat=retreat,
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
        why = one_axis_problem(s.direction, s.strokes)
        if why:
            out.append(why)
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
        return BrushState(path.approach.position(rel), 0)
    out_at = seg.duration_ms - seg.lead_out_ms
    if rel >= out_at:
        into = rel - out_at
        if into >= path.retreat.duration_ms:
            return BrushState(None, seg.strokes)
        return BrushState(path.retreat.position(into), seg.strokes)
    rel -= seg.lead_in_ms
    prof = path.stroke
    cycle = prof.duration_ms + seg.pause_ms
    k = min(int(rel // cycle), seg.strokes - 1)
    into = rel - k * cycle
    done = k + (1 if into >= prof.duration_ms else 0)
    d = prof.distance(into)
    pos = path.origin_cm + (d if _forward(seg.direction, k) else seg.stroke_cm - d)
    return BrushState(pos, done)
