"""The self-test sweeps the brush park -> 0 -> end of travel -> park in steps at the
approach speed, never in one jump, and quickly. Checked from the simulator's trace of
every PWM duty write."""

from __future__ import annotations

import itertools
import time

import pytest

from hardware.backend import open_hardware
from hardware.selftest import run_selftest
from hardware.sim import ManualClock
from station.wiring import load_wiring
from tests.engine.brushtrace import duty_step_cm, park_cm, to_cm


@pytest.fixture
def clock():
    """The brush's pacing clock (one duty write per PWM frame): the fake sleeps below
    advance it, so the pacer sees the frames the self-test believes it waited."""
    return ManualClock()


@pytest.fixture
def hw(tmp_path, clock):
    with open_hardware(
        load_wiring(), simulate=True, data_dir=tmp_path, brush_clock=clock
    ) as hardware:
        yield hardware


@pytest.fixture
def real_hw(tmp_path):
    with open_hardware(load_wiring(), simulate=True, data_dir=tmp_path) as hardware:
        yield hardware


def brush_writes(hw) -> list[tuple[int, int, float]]:
    """(trace seq, t_ns, position cm) of every duty write to the brush (not the channel's
    initial duty 0 at open, which goes out with the pulses off)."""
    cfg = hw.wiring.brush_by_name("brush")
    records = hw.sim.trace.select("brush", "duty_cycle_ns")
    return [(r.seq, r.t_ns, to_cm(cfg, r.value)) for r in records if r.value > 0]


def test_sweep_steps_within_approach_speed_for_the_time_slept(hw, clock):
    """Each write is no further from the previous one than the approach speed allows in
    the sleeps between them (recorded, not waited: fast and exact)."""
    slept: list[tuple[int, float]] = []  # (last trace seq before the sleep, seconds)

    def sleep(s: float) -> None:
        slept.append((hw.sim.trace.last_seq(), s))
        clock.advance(s)

    results = run_selftest(hw, sleep=sleep)
    assert all(r.ok for r in results), [r.line() for r in results]
    cfg = hw.wiring.brush_by_name("brush")
    writes = brush_writes(hw)
    positions = [p for _, _, p in writes]
    assert positions[-1] == park_cm(cfg)
    assert min(positions) == pytest.approx(park_cm(cfg), abs=1e-6)
    assert any(abs(p) < 2 * duty_step_cm(cfg) for p in positions)  # reached 0 ...
    assert max(positions) == pytest.approx(
        cfg.travel_cm, abs=2 * duty_step_cm(cfg)
    )  # ... and the end
    assert len(writes) > 100  # a ramp, not three jumps
    worst = 0.0
    for (sa, _, pa), (sb, _, pb) in itertools.pairwise(writes):
        between = sum(s for seq, s in slept if sa <= seq < sb)
        worst = max(worst, abs(pb - pa) - cfg.approach_speed_cm_s * between)
    assert worst <= 2 * duty_step_cm(cfg), worst


@pytest.mark.slow
@pytest.mark.timing  # the upper bound on the sweep's wall-clock time is the point
def test_real_time_sweep_is_ramped_and_quick(real_hw):
    hw = real_hw
    started = time.monotonic_ns()
    results = run_selftest(hw)
    assert all(r.ok for r in results), [r.line() for r in results]
    cfg = hw.wiring.brush_by_name("brush")
    writes = brush_writes(hw)
    moving = [(t, p) for _, t, p in writes if t >= started]
    # every write lands a full frame's sleep after the one before (sleep never returns
    # early), so the speed bound needs no slack beyond the duty rounding
    for (ta, pa), (tb, pb) in itertools.pairwise(moving):
        assert abs(pb - pa) <= cfg.approach_speed_cm_s * (tb - ta) / 1e9 + 2 * duty_step_cm(cfg)
    took_s = (moving[-1][0] - moving[0][0]) / 1e9
    distance = 2 * (cfg.travel_cm - cfg.park_cm)
    assert distance / cfg.approach_speed_cm_s <= took_s < 3.5, took_s
