"""Pure rendering: envelopes ramp (never jump), taps land on their grid, strokes follow
a trapezoid whose middle moves at the prescribed speed."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station.engine.brushpath import BrushPath, Trapezoid, brush_position, lead_times_ms
from station.engine.render import amplitude_level, rtp_code, tap_times, taps_due
from station.program import AmplitudeSegment, BrushSegment, TapSegment


def amp(**kw):
    base = dict(
        actuator="a", start_ms=100, duration_ms=1000, level=0.8, ramp_up_ms=200, ramp_down_ms=300
    )
    return AmplitudeSegment(**{**base, **kw})


def test_ramp_up_hold_ramp_down():
    seg = amp()
    assert amplitude_level(seg, 99.9) == 0.0
    assert amplitude_level(seg, 100) == 0.0
    assert amplitude_level(seg, 200) == pytest.approx(0.4)
    assert amplitude_level(seg, 300) == pytest.approx(0.8)
    assert amplitude_level(seg, 700) == pytest.approx(0.8)
    assert amplitude_level(seg, 950) == pytest.approx(0.8 * 150 / 300)
    assert amplitude_level(seg, 1100) == 0.0


def test_pattern_bursts_each_ramped():
    seg = amp(on_ms=200, off_ms=100, ramp_up_ms=50, ramp_down_ms=50)
    assert amplitude_level(seg, 100 + 25) == pytest.approx(0.4)
    assert amplitude_level(seg, 100 + 100) == pytest.approx(0.8)
    assert amplitude_level(seg, 100 + 250) == 0.0  # off part of the first period
    assert amplitude_level(seg, 100 + 325) == pytest.approx(0.4)  # second burst ramping


@given(st.integers(1, 400), st.integers(0, 400), st.integers(0, 400), st.integers(0, 300))
def test_no_step_larger_than_the_ramp_allows(dur, up, down, off):
    """Between two ticks 1 ms apart the level never moves by more than the steepest
    ramp allows (ramps shrink together when they do not fit: a triangle, not a step)."""
    seg = AmplitudeSegment(
        actuator="a",
        start_ms=0,
        duration_ms=dur + 1,
        level=1.0,
        ramp_up_ms=up,
        ramp_down_ms=down,
        on_ms=dur if off else None,
        off_ms=off if off else None,
    )
    on = dur if off else dur + 1
    scale = min(1.0, on / (up + down)) if up + down else 1.0
    steps = [x for x in (up * scale, down * scale) if x > 0]
    if len(steps) < 2:
        return  # a zero ramp is the program's explicit choice (validated upstream)
    bound = 1.0 / min(steps) + 1e-9
    prev = amplitude_level(seg, -1)
    for t in range(0, dur + 3):
        cur = amplitude_level(seg, t)
        assert abs(cur - prev) <= bound + 1e-9
        prev = cur


def test_rtp_code_rounds_and_clamps():
    # Signed RTP: 0x7F is full scale; codes round down so a level is never exceeded.
    assert [rtp_code(x) for x in (-1, 0, 0.5, 1, 2)] == [0, 0, 63, 127, 127]
    assert rtp_code(64 / 127) == 64  # a whole step survives float rounding
    assert all(rtp_code(k / 1000) / 127 <= k / 1000 for k in range(1001))


def test_taps_due_counts_each_tap_once_whatever_the_tick_grid():
    seg = TapSegment(actuator="a", start_ms=10, duration_ms=1000, effect_id=1, interval_ms=333)
    assert tap_times(seg) == [10, 343, 676, 1009]
    for step in (0.7, 1.0, 3.3, 50.0):
        t, n = -step, 0
        while t < 1200:
            n += taps_due(seg, t, t + step)
            t += step
        assert n == 4
    assert taps_due(seg, 9.9, 10.0) == 1 and taps_due(seg, 10.0, 11.0) == 0


def test_trapezoid_cruises_at_the_prescribed_speed():
    prof = Trapezoid.for_stroke(length_cm=6.0, speed_cm_s=3.0, accel_cm_s2=30.0)
    assert prof.v_peak == 3.0
    assert prof.t_acc_ms == pytest.approx(100.0)
    mid = prof.duration_ms / 2
    speed = (prof.distance(mid + 5) - prof.distance(mid - 5)) / 0.010
    assert speed == pytest.approx(3.0)
    assert prof.distance(prof.duration_ms) == 6.0
    # acceleration bound: second differences never exceed accel
    dt = 0.001
    for i in range(1, int(prof.duration_ms)):
        a = (prof.distance(i + 1) - 2 * prof.distance(i) + prof.distance(i - 1)) / dt**2
        assert abs(a) <= 30.0 * 1.001


def test_short_stroke_becomes_a_triangle_within_the_accel_bound():
    prof = Trapezoid.for_stroke(length_cm=1.0, speed_cm_s=30.0, accel_cm_s2=60.0)
    assert prof.t_cruise_ms == 0 and prof.v_peak < 30.0
    assert prof.distance(prof.duration_ms) == pytest.approx(1.0)


def brush_seg(**kw) -> BrushSegment:
    base = dict(actuator="b", start_ms=0, duration_ms=3000, speed_cm_s=5, stroke_cm=5,
                strokes=2, pause_ms=200, direction="alternate", accel_cm_s2=50)  # fmt: skip
    return BrushSegment(**{**base, **kw})


TRAVEL, PARK, APPROACH = 11.0, -4.0, 8.0


def planned(**kw) -> BrushPath:
    """A segment with exactly the lead times ``lead_times_ms`` gives it, laid out."""
    seg = brush_seg(**kw)
    lead_in, lead_out = lead_times_ms(
        stroke_cm=seg.stroke_cm, strokes=seg.strokes, direction=seg.direction,
        travel_cm=TRAVEL, park_cm=PARK, approach_speed_cm_s=APPROACH,
        speed_cm_s=seg.speed_cm_s, accel_cm_s2=seg.accel_cm_s2,
    )  # fmt: skip
    seg = seg.model_copy(update={"lead_in_ms": lead_in, "lead_out_ms": lead_out,
                                 "duration_ms": seg.duration_ms + lead_in + lead_out})  # fmt: skip
    return BrushPath.plan(seg, travel_cm=TRAVEL, park_cm=PARK, approach_speed_cm_s=APPROACH)


def test_brush_alternates_and_parks_outside_the_segment():
    path = planned()
    seg = path.seg
    assert path.problems() == []
    strokes_at = seg.start_ms + seg.lead_in_ms
    first = brush_position(path, strokes_at)
    assert first.position_cm == pytest.approx(3.0)  # centred: (11 - 5) / 2
    prof = Trapezoid.for_stroke(length_cm=5, speed_cm_s=5, accel_cm_s2=50)
    end1 = brush_position(path, strokes_at + prof.duration_ms + 1)
    assert end1.position_cm == pytest.approx(8.0) and end1.strokes_done == 1
    back = brush_position(path, strokes_at + 2 * prof.duration_ms + 200 + 1)
    assert back.position_cm == pytest.approx(3.0) and back.strokes_done == 2
    assert brush_position(path, seg.end_ms).position_cm is None
    assert brush_position(path, seg.start_ms - 0.5).position_cm is None
    with pytest.raises(ValueError, match="longer than"):
        BrushPath.plan(seg, travel_cm=4.0, park_cm=PARK, approach_speed_cm_s=APPROACH)


@pytest.mark.parametrize("direction", ["forward", "backward", "alternate"])
@pytest.mark.parametrize("strokes", [1, 2, 3])
def test_approach_and_retreat_are_ramped_moves_inside_the_segment(direction, strokes):
    """From park to the first stroke and from the last stroke back to park, the setpoint
    moves on a 0.1 ms grid by no more than the approach speed allows, accelerates within
    the segment's bound, and every stroke still starts at lead-in and ends before lead-out."""
    path = planned(direction=direction, strokes=strokes)
    seg = path.seg
    dt = 0.1
    step_cap = APPROACH * dt / 1000 * 1.0001

    def pos(t):
        p = brush_position(path, t).position_cm
        return PARK if p is None else p

    assert pos(seg.start_ms + 1e-9) == pytest.approx(PARK, abs=1e-6)  # leaves from park
    lead_in_end = seg.start_ms + seg.lead_in_ms
    lead_out_start = seg.end_ms - seg.lead_out_ms
    for lo, hi in ((seg.start_ms, lead_in_end), (lead_out_start, seg.end_ms)):
        ts = [lo + i * dt for i in range(int((hi - lo) / dt) + 1)]
        ps = [pos(t) for t in ts]
        steps = [abs(b - a) for a, b in itertools.pairwise(ps)]
        assert max(steps) <= step_cap, max(steps)
        acc = [abs(ps[i + 1] - 2 * ps[i] + ps[i - 1]) / (dt / 1000) ** 2
               for i in range(1, len(ps) - 1)]  # fmt: skip
        # interior of each phase (the segment's edges are where park begins/ends)
        assert max(acc[1:-1]) <= seg.accel_cm_s2 * 1.01
    assert pos(lead_in_end) == pytest.approx(path.first_cm)
    assert pos(lead_out_start) == pytest.approx(path.last_cm)
    assert pos(seg.end_ms - 1e-3) == pytest.approx(PARK, abs=1e-6)  # home by the end
    assert brush_position(path, lead_out_start).strokes_done == strokes


def test_a_lead_in_too_short_for_the_brush_is_a_problem():
    path = planned()
    short = path.seg.model_copy(update={"lead_in_ms": path.seg.lead_in_ms - 5})
    bad = BrushPath.plan(short, travel_cm=TRAVEL, park_cm=PARK, approach_speed_cm_s=APPROACH)
    assert any("lead_in_ms" in p for p in bad.problems())
