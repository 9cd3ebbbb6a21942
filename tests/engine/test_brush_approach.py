"""The brush gets onto and off the skin by a timed, speed-limited move, never one jump;
a stop still parks it at once. Shown in the simulator's trace of every PWM duty write,
with the real engine playing a program on the real simulator backend."""

from __future__ import annotations

import itertools
import time

import pytest

from station.program import Program
from tests.engine.brushtrace import (
    RENDER_MS,
    TICK_MS,
    duty_step_cm,
    held,
    park_cm,
    positions,
    worst_step,
)
from tests.engine.helpers import alternating_strokes, program, running_engine, wait_for_event

ONE_TICK_NS = 2_000_000  # one 1 kHz period plus the write itself, as in test_stops

SEG = alternating_strokes(2)
PROG = program(
    [
        {"duration_ms": 200, "kind": "rest"},
        {"duration_ms": SEG["duration_ms"], "kind": "brush", "segments": [{**SEG}]},
        {"duration_ms": 200, "kind": "rest"},
    ]
)


@pytest.mark.slow
def test_approach_and_retreat_are_ramped_and_inside_the_segment(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        c.call("arm", program=PROG, session_id="approach")
        c.call("start")
        t0 = wait_for_event(rt, "started")["t0_ns"]
        wait_for_event(rt, "stopped", timeout=15, reason="completed")
        timing = wait_for_event(rt, "timing", session_id="approach")
        trace, cfg = rt.hw.sim.trace, rt.hw.wiring.brush_by_name("brush")
        age_ms = rt.hw.brushes["brush"].max_write_age_ns / 1e6
    seg = Program.model_validate(PROG).steps[1].segments[0]
    # How much later than its deadline a write may land: the loop's measured worst wake-up
    # lateness plus the render and write themselves. On a quiet machine well under a tick.
    # plus how old a position could be when its write went out (the pacer's measured
    # figure: a setpoint that waited for its frame, or for the flusher, goes out late)
    slack = timing["max_us"] / 1000 + RENDER_MS + age_ms
    pts = positions(trace, cfg, t0)
    park = park_cm(cfg)
    strokes_at = seg.start_ms + seg.lead_in_ms
    retreat_at = seg.end_ms - seg.lead_out_ms

    # before the segment: parked; it leaves park only once the segment has begun
    assert held(pts, seg.start_ms - 1) == park
    assert all(t >= seg.start_ms for t, p in pts if t > 0 and p != park)

    # lead-in: from the last park write to the first stroke's start, every step within
    # the approach speed, and a real ramp (many writes, not one jump)
    approach = [(t, p) for t, p in pts if t < strokes_at]
    approach = [(seg.start_ms, park)] + [(t, p) for t, p in approach if t >= seg.start_ms]
    big, over = worst_step(approach, cfg.approach_speed_cm_s, slack)
    assert over <= 2 * duty_step_cm(cfg), (big, over)
    # A servo takes one pulse width per PWM frame (20 ms at 50 Hz): the brush writes at most
    # once a frame, so a ramp is about one write a frame, and never two inside one frame.
    frame_ms = 1000 / cfg.frequency_hz
    assert len(approach) > seg.lead_in_ms / frame_ms / 2
    gaps = [tb - ta for (ta, _), (tb, _) in itertools.pairwise(approach[1:])]
    # (the pacer times a frame from its own clock reading just before each write; the
    # trace stamps the write itself, later by as much as the thread was held up between
    # the two: on a busy machine that is the loop's measured lateness, not microseconds;
    # two writes inside one frame would be a gap of a tick, far below this)
    assert min(gaps) >= frame_ms - max(0.05, timing["max_us"] / 1000), (min(gaps), timing)
    first = held(pts, strokes_at - 0.5 + slack)
    # at the stroke start: the approach ends at rest there, and the last write is at most
    # one frame and a tick (plus lateness) old, so within what the bounded acceleration covers
    # in that time
    late_s = (frame_ms + TICK_MS + slack) / 1000
    near = 0.5 * seg.accel_cm_s2 * late_s**2 + duty_step_cm(cfg)
    assert abs(first - (cfg.travel_cm - seg.stroke_cm) / 2) <= near

    # lead-out: from the last stroke's end back to park within the segment, same bound
    retreat = [(t, p) for t, p in pts if retreat_at - 1 <= t <= seg.end_ms + 2 + slack]
    big_out, over_out = worst_step(retreat, cfg.approach_speed_cm_s, slack)
    assert over_out <= 2 * duty_step_cm(cfg), (big_out, over_out)
    assert held(pts, seg.end_ms + 2 + slack) == park
    # home before the segment ends: the lead-out comes to rest at park, and the last write
    # before the end is at most a frame and a tick (plus lateness) old, so within ``near``
    assert abs(held(pts, seg.end_ms - 1 + slack) - park) <= near

    # nowhere in the segment does the arm move faster than the device allows
    inside = [(t, p) for t, p in pts if seg.start_ms - 1 <= t <= seg.end_ms + 2 + slack]
    assert worst_step(inside, cfg.max_speed_cm_s, slack)[1] <= 2 * duty_step_cm(cfg)


def _stop_mid_approach(tmp_path):
    """Stop a third of the way into the lead-in (the arm between park and the skin);
    returns the brush positions relative to the stop request, park, the segment and the
    loop's measured worst lateness (ms) over the run."""
    with running_engine(tmp_path) as (rt, c):
        c.call("arm", program=PROG, session_id="stop")
        c.call("start")
        t0 = wait_for_event(rt, "started")["t0_ns"]
        seg = Program.model_validate(PROG).steps[1].segments[0]
        time.sleep((seg.start_ms + seg.lead_in_ms / 3) / 1000 - (time.monotonic_ns() - t0) / 1e9)
        trigger = time.monotonic_ns()
        assert c.call("stop", reason="user", by="test")["stopped"] is True
        wait_for_event(rt, "stopped", reason="user")
        late_ms = wait_for_event(rt, "timing", session_id="stop")["max_us"] / 1000
        trace, cfg = rt.hw.sim.trace, rt.hw.wiring.brush_by_name("brush")
    return positions(trace, cfg, trigger), park_cm(cfg), seg, cfg, late_ms


def test_a_stop_mid_approach_parks_in_one_write(tmp_path):
    pts, park, seg, cfg, _ = _stop_mid_approach(tmp_path)
    before = [p for t, p in pts if t < 0]
    assert park < before[-1] < (cfg.travel_cm - seg.stroke_cm) / 2, "not mid-approach"
    after = [p for t, p in pts if t >= 0]
    assert after[0] == park  # the first write after the stop parks it: no ramp
    assert all(p == park for p in after)  # and it stays parked


@pytest.mark.timing
def test_a_stop_mid_approach_parks_within_one_tick(tmp_path):
    pts, park, _, _, late_ms = _stop_mid_approach(tmp_path)
    park_at = next(t for t, p in pts if t >= 0 and p == park)
    # one tick (period plus the write), plus how late the loop itself woke in this run
    assert park_at <= ONE_TICK_NS / 1e6 + late_ms, (park_at, late_ms)
