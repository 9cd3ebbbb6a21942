"""Resuming after a pause brings the brush from park back onto its path at no more than
the approach speed, never in one jump; the program still plays to its end. Shown twice:
the player ticked at exact program times on the simulator (exact rejoin with the
render), and the real engine's PWM trace (speed bound with the loop's measured slack)."""

from __future__ import annotations

import itertools
import time

import pytest

from hardware.backend import open_hardware
from station.engine.brushpath import brush_position
from station.engine.player import Player
from station.program import Program
from station.wiring import load_wiring
from tests.engine.brushtrace import RENDER_MS, TICK_MS, duty_step_cm, park_cm, positions, worst_step
from tests.engine.helpers import alternating_strokes, program, running_engine, wait_for_event

# Speed equal to the approach speed of the default wiring, so every move after resume,
# catching up or following, must keep within the approach speed.
SEG = alternating_strokes(3)
PROG = program(
    [
        {"duration_ms": 100, "kind": "rest"},
        {"duration_ms": SEG["duration_ms"], "kind": "brush", "segments": [{**SEG}]},
        {"duration_ms": 100, "kind": "rest"},
    ]
)
MID_STROKE_MS = 400  # into the first stroke: cruising, well away from park


@pytest.fixture
def hw(tmp_path):
    with open_hardware(load_wiring(), simulate=True, data_dir=tmp_path) as h:
        h.start_all()
        yield h


def play(player: Player, arm, t_ms: float, until_ms: float) -> list[tuple[float, float, float]]:
    """Tick every ms from ``t_ms`` while ``< until_ms`` (stepping like the engine); per
    tick: (program ms, rendered setpoint with park for None, where the arm was sent)."""
    out = []
    while t_ms < until_ms and not player.finished:
        while not player.finished and player.step_due(t_ms):
            player.advance()
        if player.finished:
            break
        player.tick(t_ms)
        step = player._steps[player.step_index]
        pos = brush_position(step.brush[0][1], t_ms).position_cm if step.brush else None
        out.append((t_ms, arm.config.park_cm if pos is None else pos, arm.position_cm))
        t_ms += 1.0
    return out


def test_without_a_pause_the_arm_is_exactly_on_the_render(hw):
    """The catch-up never touches a normal play: lead-in, strokes, lead-out all exact."""
    prog = Program.model_validate(PROG)
    arm = hw.brushes["brush"]
    ticks = play(Player(program=prog, hw=hw), arm, 0.0, prog.duration_ms + 1)
    assert len(ticks) == prog.duration_ms
    worst = max(abs(sent - want) for _, want, sent in ticks)
    assert worst < 1e-6, worst


def test_resume_catches_up_at_approach_speed_then_follows_exactly(hw):
    prog = Program.model_validate(PROG)
    seg = prog.steps[1].segments[0]
    cfg = hw.wiring.brush_by_name("brush")
    arm, player = hw.brushes["brush"], Player(program=prog, hw=hw)
    paused_at = seg.start_ms + seg.lead_in_ms + MID_STROKE_MS
    play(player, arm, 0.0, paused_at + 1)
    assert arm.position_cm > 1.0, "not mid-stroke"
    player.silence()
    assert arm.position_cm == pytest.approx(cfg.park_cm)
    player.resume_at(paused_at)
    ticks = play(player, arm, paused_at, prog.duration_ms + 1)
    assert player.finished

    sent = [cfg.park_cm] + [x for _, _, x in ticks]
    steps = [abs(b - a) for a, b in itertools.pairwise(sent)]
    # before the catch-up the first step was the whole way from park to mid-stroke
    assert max(steps) <= cfg.approach_speed_cm_s / 1000 + 1e-9, max(steps)
    joined = next(t for t, want, x in ticks if abs(x - want) < 1e-9 and want > cfg.park_cm)
    assert joined > paused_at + 100  # a real catch-up, not a jump
    assert joined < seg.end_ms - seg.lead_out_ms  # back on the path before the lead-out
    # from the rejoin to the end: exactly on the render (the program carries on)
    worst = max(abs(x - want) for t, want, x in ticks if t >= joined)
    assert worst < 1e-6, worst
    assert arm.position_cm == pytest.approx(cfg.park_cm)


@pytest.mark.slow
def test_engine_resume_is_ramped_in_the_trace_and_the_program_completes(tmp_path):
    prog = Program.model_validate(PROG)
    seg = prog.steps[1].segments[0]
    with running_engine(tmp_path) as (rt, c):
        c.call("arm", program=PROG, session_id="resume")
        c.call("start")
        t0 = wait_for_event(rt, "started")["t0_ns"]
        pause_ms = seg.start_ms + seg.lead_in_ms + MID_STROKE_MS
        time.sleep(pause_ms / 1000 - (time.monotonic_ns() - t0) / 1e9)
        paused = c.call("pause")
        assert paused["state"] == "paused"
        time.sleep(0.3)
        resumed_ns = time.monotonic_ns()
        c.call("resume")
        stopped = wait_for_event(rt, "stopped", timeout=15, reason="completed")
        timing = wait_for_event(rt, "timing", session_id="resume")
        done = wait_for_event(rt, "step_finished", session_id="resume", index=1)
        trace, cfg = rt.hw.sim.trace, rt.hw.wiring.brush_by_name("brush")
        age_ms = rt.hw.brushes["brush"].max_write_age_ns / 1e6
    # plus how old a position could be when its write went out (the pacer's measured
    # figure: a setpoint that waited for its frame, or for the flusher, goes out late)
    slack = timing["max_us"] / 1000 + RENDER_MS + age_ms
    park = park_cm(cfg)
    pts = positions(trace, cfg, resumed_ns)
    before, after = [p for t, p in pts if t < 0], [(t, p) for t, p in pts if t >= 0]
    assert before[-1] == park  # the pause parked it in one write
    assert max(p for p in before) > 1.0  # ... from mid-stroke
    # from park at the resume on, every step within the approach speed (the segment's
    # speed is the same, so this holds while catching up and while following)
    big, over = worst_step([(0.0, park), *after], cfg.approach_speed_cm_s, slack)
    assert over <= 2 * duty_step_cm(cfg), (big, over)
    # a ramp of many writes, not a jump: about one a PWM frame (20 ms at 50 Hz), the most
    # a servo can take
    frame_ms = 1000 / cfg.frequency_hz
    assert len(after) > (after[-1][0] - after[0][0]) / frame_ms / 2
    # it rejoined the path: the strokes' far ends are reached again, and it ends parked
    # (each end is where a stroke comes to rest; with one write per PWM frame the write
    # nearest to it is at most a frame, a tick and the loop's lateness away, within what the
    # bounded acceleration covers from rest in that time)
    origin = (cfg.travel_cm - seg.stroke_cm) / 2
    late_s = (frame_ms + TICK_MS + slack) / 1000
    near = 0.5 * seg.accel_cm_s2 * late_s**2 + duty_step_cm(cfg)
    assert min(abs(p - origin) for _, p in after) <= near
    assert min(abs(p - (origin + seg.stroke_cm)) for _, p in after) <= near
    assert after[-1][1] == park
    assert stopped["reason"] == "completed"
    assert done["delivered"][0]["strokes"] == seg.strokes
