"""Every built-in brushing level, as the skin would feel it: no on-skin move faster than
prescribed (issue 12: forward strokes jumped back 6 cm in one write, 9, 19 and 58 times
a session at ct-brushing levels 1-3).

How it is played: each level is compiled on the default wiring and played tick by tick
(1 kHz, the engine's rate) through the real ``Player`` onto the real ``BrushArm`` and its
``DutyPacer`` (one duty write per 20 ms PWM frame) over the simulator's PWM channel, on a
``ManualClock``: the levels last 1 to 8 minutes, so they are rendered in simulated time,
not played by the engine in real time. The pacer's flusher thread is replaced by a
``flush()`` after every tick (what the thread does within 2 ms of the last request).

What is judged is the simulator's trace of PWM duty writes, decoded with the datasheet
mapping restated in ``tests/engine/brushtrace.py`` (pulse -> angle -> arc length), not the
code's own positions. "On the skin" is the calibrated travel, 0..travel_cm (the bristles
just touch at both ends, hardware/README.md): the on-skin part of a move between two
writes is the distance between the two positions clipped to the travel. Bound (the
issue's): the step's speed times the time between the writes plus one duty step, the time
counted at most one PWM frame (``window``: stricter than the issue's bound, which it
implies). The negative control plays the old one-way strokes and sees the jumps.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import pytest

from hardware.brush import BrushArm
from hardware.sim import ManualClock
from hardware.sim.pwm import SimPWMChannel
from hardware.trace import Trace
from station.engine import player as player_mod
from station.engine.player import Player
from station.errors import ConfigError
from station.program import BrushSegment, Program
from station.protocols.compiler import compile_program
from station.protocols.library import builtin_paths
from station.protocols.load import load_file, validate_data
from station.wiring import load_wiring
from tests.engine.brushtrace import duty_step_cm, park_cm, to_cm

T0_NS = 1_000_000_000


def brushing_levels() -> list[tuple[str, str, int]]:
    """(protocol file, ladder, level index) of every built-in level with a brush step."""
    out = []
    for path in builtin_paths():
        p = load_file(path)
        for lad in p.ladders:
            for i, lv in enumerate(lad.levels):
                if any(s.kind == "brush" for s in lv.steps):
                    out.append((path.name, lad.name, i))
    return out


LEVELS = brushing_levels()


def play(program: Program) -> tuple[list[tuple[float, float]], Any]:
    """Render ``program`` tick by tick through the real Player onto a simulated brush;
    returns (ms since the start, cm) of every duty write and the brush's config."""
    wiring = load_wiring()
    cfg = wiring.brush_by_name("brush")
    clock = ManualClock(T0_NS)
    trace = Trace(clock=clock)
    pwm = SimPWMChannel(name=cfg.name, trace=trace, frequency_hz=cfg.frequency_hz)
    arm = BrushArm(config=cfg, pwm=pwm, clock=clock, background_flush=False)
    arm.start()  # attach at park, as start_all does
    hw = SimpleNamespace(brushes={cfg.name: arm}, haptics={}, wiring=wiring)
    player = Player(program=program, hw=hw, rate_hz=1000)
    t = 0
    while True:
        while player.step_due(t):
            player.advance()
            if player.finished:
                break
        if player.finished:
            break
        clock.now_ns = T0_NS + t * 1_000_000
        player.tick(t)
        arm.flush()
        step = program.steps[player.step_index]
        if not step.segments:  # a rest or a rating: nothing moves; skip to its end
            arm.flush()
            t = max(t + 1, step.end_ms)
        else:
            t += 1
    clock.now_ns = T0_NS + t * 1_000_000
    arm.flush()
    arm.park()  # the engine's all_off at the end
    # every duty write to the brush but the channel's initial 0 at open (pulses off)
    pts = [((r.t_ns - T0_NS) / 1e6, to_cm(cfg, r.value))
           for r in trace.select(cfg.name, "duty_cycle_ns") if r.value > 0]  # fmt: skip
    return pts, cfg


def segment_at(program: Program, t_ms: float) -> BrushSegment | None:
    for step in program.steps:
        for seg in step.segments:
            if isinstance(seg, BrushSegment) and seg.start_ms <= t_ms < seg.end_ms + 1:
                return seg
    return None


def on_skin(cfg: Any, a: float, b: float) -> float:
    """The part of a move from ``a`` to ``b`` that lies on the skin (0..travel_cm)."""

    def clip(p: float) -> float:
        return min(max(p, 0.0), cfg.travel_cm)

    return abs(clip(b) - clip(a))


def window(cfg: Any, ta: float, tb: float) -> float:
    """The time (ms) a move between writes at ``ta`` and ``tb`` may take: the time between
    them, but at most one PWM frame. A servo reaches a written position within about a
    frame and then holds it, so after a rest the next write is a fresh slew: counting the
    whole rest would let a 6 cm jump after a 3 s pause pass as 2 cm/s (this is stricter
    than "speed x time since the last write", which it implies)."""
    return min(tb - ta, 1000 / cfg.frequency_hz)


def worst_on_skin(
    program: Program, pts: list[tuple[float, float]], cfg: Any
) -> tuple[float, tuple[float, float, float] | None, int]:
    """How far the worst on-skin move between consecutive writes went beyond the bound
    (speed x time between writes + one duty step; <= 0: within it), where, and how many
    moves broke it."""
    step_cm = duty_step_cm(cfg)
    worst, where, broken = -1e9, None, 0
    for (ta, pa), (tb, pb) in itertools.pairwise(pts):
        moved = on_skin(cfg, pa, pb)
        if moved == 0.0:
            continue
        seg = segment_at(program, tb) or segment_at(program, ta)
        assert seg is not None, f"the brush moved on the skin outside a brush segment at {tb}"
        over = moved - (seg.speed_cm_s * window(cfg, ta, tb) / 1000 + step_cm)
        broken += over > 0
        if over > worst:
            worst, where = over, (ta, tb, moved)
    return worst, where, broken


def compiled(name: str, ladder: str, index: int) -> Program:
    p = load_file(next(path for path in builtin_paths() if path.name == name))
    return compile_program(p, level=index, ladder=ladder, wiring=load_wiring())


def test_the_built_in_brushing_levels_are_all_checked():
    # ct-brushing b1-b3 at least (a new built-in brushing level is picked up by itself)
    assert {(n, i) for n, _, i in LEVELS} >= {("ct-brushing.toml", i) for i in range(3)}


@pytest.mark.parametrize(("name", "ladder", "index"), LEVELS)
def test_no_on_skin_move_faster_than_prescribed(name, ladder, index):
    program = compiled(name, ladder, index)
    pts, cfg = play(program)
    segs = [s for st in program.steps for s in st.segments if isinstance(s, BrushSegment)]
    assert segs and all(s.direction == "alternate" for s in segs)
    worst, where, broken = worst_on_skin(program, pts, cfg)
    assert broken == 0, (worst, where)
    # Off the skin too, nothing slews: every move keeps to the approach speed.
    step_cm = duty_step_cm(cfg)
    for (ta, pa), (tb, pb) in itertools.pairwise(pts):
        if pb == park_cm(cfg) and tb >= program.duration_ms:
            continue  # the final park (a stop-like write after the program ended)
        limit = cfg.approach_speed_cm_s * window(cfg, ta, tb) / 1000 + step_cm
        assert abs(pb - pa) <= limit, (ta, tb, pa, pb)
    # And the strokes really happen: each segment reaches the far end of its strokes as
    # often as it prescribes (every pass away from park ends there).
    origin = (cfg.travel_cm - segs[0].stroke_cm) / 2
    far = origin + segs[0].stroke_cm
    # (a visit: a run of consecutive writes within 0.01 cm of the far end)
    visits = sum(near for near, _ in itertools.groupby(abs(p - far) < 0.01 for _, p in pts))
    assert visits == sum((s.strokes + 1) // 2 for s in segs), visits


def test_the_check_can_fail_one_way_strokes_jump_back(monkeypatch):
    """The old ct-brushing level 1 (10 forward strokes) played without the one-axis
    refusal: the decoder sees the 6 cm jump back before every stroke but the first."""
    program = compiled("ct-brushing.toml", "brushing", 0)
    steps = []
    for st in program.steps:
        segs = [s.model_copy(update={"direction": "forward"}) if isinstance(s, BrushSegment)
                else s for s in st.segments]  # fmt: skip
        steps.append(st.model_copy(update={"segments": segs}))
    forward = program.model_copy(update={"steps": steps})
    monkeypatch.setattr(player_mod, "check_program", lambda program, hw: None)
    pts, cfg = play(forward)
    # (up to the lead-out: the compiled lead-out is for alternate strokes, ending next to
    # park, too short for a retreat from the far end; only the strokes are judged here)
    seg = next(s for st in forward.steps for s in st.segments)
    pts = [(t, p) for t, p in pts if t < seg.end_ms - seg.lead_out_ms]
    _, where, broken = worst_on_skin(forward, pts, cfg)
    assert broken == 9, (broken, where)  # the "9 jumps per session" at level 1
    assert where is not None and where[2] > 5.9


def test_one_way_strokes_are_refused_by_validation_and_by_the_engine():
    data = load_file(next(p for p in builtin_paths() if p.name == "ct-brushing.toml"))
    raw = data.model_dump(mode="json", exclude_none=True)
    raw["ladders"][0]["levels"][0]["steps"][0]["direction"] = "forward"
    with pytest.raises(ConfigError) as exc:
        validate_data(raw, source="ct-brushing.toml")
    message = str(exc.value)
    assert 'direction = "forward" with 10 strokes' in message
    assert "one-axis arm that cannot lift off the skin" in message
    assert 'prescribe direction = "alternate"' in message
    # the engine's last layer refuses the same segment from any other source
    program = compiled("ct-brushing.toml", "brushing", 0)
    seg = next(s for st in program.steps for s in st.segments)
    bad = program.model_copy(update={"steps": [
        st.model_copy(update={"segments": [seg.model_copy(update={"direction": "forward"})]})
        if st.segments else st for st in program.steps]})  # fmt: skip
    wiring = load_wiring()
    cfg = wiring.brush_by_name("brush")
    clock = ManualClock(T0_NS)
    arm = BrushArm(config=cfg, pwm=SimPWMChannel(name="brush", trace=Trace(clock=clock),
                   frequency_hz=cfg.frequency_hz), clock=clock, background_flush=False)  # fmt: skip
    hw = SimpleNamespace(brushes={"brush": arm}, haptics={}, wiring=wiring)
    with pytest.raises(ValueError, match="one-axis arm"):
        Player(program=bad, hw=hw)
    # a single one-way stroke is still allowed (nothing has to come back before a next one)
    raw["ladders"][0]["levels"][0]["steps"][0]["strokes"] = 1
    validate_data(raw, source="ct-brushing.toml")
