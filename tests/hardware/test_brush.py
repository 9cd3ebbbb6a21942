"""The brush arm in skin units: kinematics, travel limits, park/detach and resolution."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator

import pytest

from hardware.brush import BrushArm
from hardware.interfaces import Brush
from hardware.sim.pwm import SimPWMChannel
from hardware.trace import Trace
from station.wiring import BrushConfig, load_wiring


@pytest.fixture
def config() -> BrushConfig:
    return load_wiring(None).brush[0]


@pytest.fixture
def trace() -> Trace:
    return Trace()


FRAME_NS = 20_000_000  # one PWM frame at the servo's 50 Hz: 1 s / 50


class StepClock:
    """A monotonic ns clock that moves on ``step_ns`` at every reading: with one frame per
    step, every call lands in a fresh PWM frame (the engine's calls spread over time)."""

    def __init__(self, step_ns: int = FRAME_NS) -> None:
        self.now = 0
        self.step_ns = step_ns

    def __call__(self) -> int:
        self.now += self.step_ns
        return self.now


class ManualClock:
    """A clock that moves only when told: time inside one PWM frame stands still."""

    def __init__(self) -> None:
        self.now = 1_000_000_000

    def __call__(self) -> int:
        return self.now

    def advance_ms(self, ms: float) -> None:
        self.now += round(ms * 1_000_000)


@pytest.fixture
def arm(config: BrushConfig, trace: Trace) -> Iterator[BrushArm]:
    pwm = SimPWMChannel(name=config.name, trace=trace, frequency_hz=config.frequency_hz)
    with BrushArm(config=config, pwm=pwm, clock=StepClock(), background_flush=False) as brush:
        yield brush


def pulse_ns(config: BrushConfig, angle: float) -> int:
    """The datasheet mapping, restated independently of the module."""
    span = config.pulse_max_us - config.pulse_min_us
    return round((config.pulse_min_us + angle / config.servo_range_deg * span) * 1000)


def events(trace: Trace, name: str) -> list[tuple[str, int]]:
    return [(r.what, r.value) for r in trace.select(device=name)]


def test_is_a_brush(arm: BrushArm) -> None:
    assert isinstance(arm, Brush)


def test_kinematics_map_skin_to_angle_to_pulse(arm: BrushArm, config: BrushConfig) -> None:
    assert arm.travel_cm == pytest.approx(
        math.radians(config.max_angle_deg - config.min_angle_deg) * config.radius_cm
    )
    assert arm.angle_for_position(0) == config.min_angle_deg
    assert arm.angle_for_position(arm.travel_cm) == pytest.approx(config.max_angle_deg)
    for position in (0.0, 1.0, arm.travel_cm / 3, arm.travel_cm):
        arm.set_position_cm(position)
        angle = config.min_angle_deg + math.degrees(position / config.radius_cm)
        assert arm.angle_deg == pytest.approx(angle)
        assert arm.position_cm == pytest.approx(position)
        assert arm._pwm.duty_cycle_ns == pulse_ns(config, angle)


def test_out_of_travel_targets_are_refused_without_a_write(
    arm: BrushArm, trace: Trace, config: BrushConfig
) -> None:
    arm.start()
    before = trace.last_seq()
    for bad in (-0.01, arm.travel_cm + 0.01, math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError) as info:
            arm.set_position_cm(bad)
        msg = str(info.value)
        assert repr(bad) in msg and f"0..{arm.travel_cm:.3f} cm" in msg
        assert "brush 'brush'" in msg
    with pytest.raises(ValueError, match="outside the calibrated travel"):
        arm.set_angle_deg(config.max_angle_deg + 1)
    assert trace.last_seq() == before


def test_the_path_reaches_from_park_through_the_travel_and_no_further(
    arm: BrushArm, trace: Trace, config: BrushConfig
) -> None:
    """The approach runs between the park angle and the travel (off the skin); past the
    park angle or the travel's far end is refused without a write."""
    arm.start()
    assert config.park_cm == pytest.approx(arm.position_for_angle(config.park_angle_deg))
    halfway = config.park_cm / 2  # between park (below 0) and the travel's start
    arm.set_path_cm(halfway)
    angle = (config.park_angle_deg + config.min_angle_deg) / 2
    assert arm.angle_deg == pytest.approx(angle) and not arm.on_skin
    assert arm._pwm.duty_cycle_ns == pulse_ns(config, angle)
    arm.set_path_cm(config.park_cm)
    assert arm._pwm.duty_cycle_ns == pulse_ns(config, config.park_angle_deg)
    arm.set_path_cm(3.0)
    assert arm.on_skin and arm.position_cm == pytest.approx(3.0)
    before = trace.last_seq()
    for bad in (config.park_cm - 0.01, arm.travel_cm + 0.01, math.nan):
        with pytest.raises(ValueError, match="off the brush's path"):
            arm.set_path_cm(bad)
    assert trace.last_seq() == before


def test_approach_speed_must_keep_to_the_device_limit(config: BrushConfig) -> None:
    data = config.model_dump()
    assert BrushConfig.model_validate(data).approach_speed_cm_s <= config.max_speed_cm_s
    with pytest.raises(ValueError, match=r"approach_speed_cm_s .* above max_speed_cm_s"):
        BrushConfig.model_validate({**data, "approach_speed_cm_s": config.max_speed_cm_s + 1})
    with pytest.raises(ValueError, match="approach_speed_cm_s"):
        BrushConfig.model_validate({**data, "approach_speed_cm_s": 0})


def test_float_noise_at_the_end_stop_is_accepted(arm: BrushArm, config: BrushConfig) -> None:
    arm.set_position_cm(arm.travel_cm + 1e-12)
    assert arm.angle_deg == pytest.approx(config.max_angle_deg)
    arm.set_position_cm(-1e-12)
    assert arm.angle_deg == config.min_angle_deg


def test_start_attaches_at_park_and_park_is_one_write(
    arm: BrushArm, trace: Trace, config: BrushConfig
) -> None:
    setup = len(trace)
    assert not arm.attached
    arm.start()
    park = pulse_ns(config, config.park_angle_deg)
    assert events(trace, "brush")[setup:] == [("duty_cycle_ns", park), ("enable", 1)]
    assert arm.attached and arm.angle_deg == config.park_angle_deg
    assert not arm.on_skin and arm.position_cm < 0  # parked off the skin
    arm.set_position_cm(2.0)
    assert arm.on_skin
    mark = trace.last_seq()
    arm.park()
    assert [(r.what, r.value) for r in trace.since(mark + 1)] == [("duty_cycle_ns", park)]


def test_off_parks_then_detaches_and_no_pulses_follow(
    arm: BrushArm, trace: Trace, config: BrushConfig
) -> None:
    arm.start()
    arm.set_position_cm(5.0)
    mark = trace.last_seq()
    arm.off()
    after = [(r.what, r.value) for r in trace.since(mark + 1)]
    assert after == [("duty_cycle_ns", pulse_ns(config, config.park_angle_deg)), ("enable", 0)]
    assert not arm.attached and arm._pwm.state()["pulse_us"] == 0.0
    arm.off()  # idempotent: no further writes
    assert trace.last_seq() == mark + 2


def test_off_never_raises_and_still_detaches(config: BrushConfig, trace: Trace) -> None:
    class FailingDuty(SimPWMChannel):
        def set_duty_cycle_ns(self, duty_ns: int) -> None:
            raise OSError(5, "Input/output error")

    pwm = FailingDuty(name="brush", trace=trace, frequency_hz=config.frequency_hz)
    pwm.set_enabled(True)
    arm = BrushArm(config=config, pwm=pwm)
    arm.off()
    assert not pwm.enabled
    arm.close()


def test_delayed_detach_lets_the_servo_reach_park(config: BrushConfig, trace: Trace) -> None:
    pwm = SimPWMChannel(name="brush", trace=trace, frequency_hz=config.frequency_hz)
    with BrushArm(config=config, pwm=pwm, detach_delay_s=0.05) as arm:
        arm.start()
        arm.set_position_cm(3.0)
        arm.off()
        arm.off()  # a repeated stop does not cut the delay short
        assert arm.attached and arm.angle_deg == config.park_angle_deg
        deadline = time.monotonic() + 2
        while arm.attached and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not arm.attached
        # start() cancels a pending detach
        arm.start()
        arm.set_position_cm(3.0)
        arm.off()
        arm.start()
        time.sleep(0.1)
        assert arm.attached


def test_wrong_pwm_period_is_refused(config: BrushConfig, trace: Trace) -> None:
    pwm = SimPWMChannel(name="brush", trace=trace, frequency_hz=config.frequency_hz * 2)
    with pytest.raises(ValueError, match="frequency_hz"):
        BrushArm(config=config, pwm=pwm)


def test_speed_conversions_round_trip(arm: BrushArm, config: BrushConfig) -> None:
    one_degree_cm = math.radians(1) * config.radius_cm
    assert arm.speed_to_deg_s(one_degree_cm) == pytest.approx(1.0)
    for speed in (config.min_speed_cm_s, config.max_speed_cm_s):
        assert arm.deg_s_to_speed(arm.speed_to_deg_s(speed)) == pytest.approx(speed)


def test_hardware_pwm_resolution_beats_software_pwm(arm: BrushArm) -> None:
    """1 ns duty steps give < 0.01 cm on the skin; whole-percent software PWM gives a
    handful of positions over the whole travel."""
    assert arm.duty_step_cm < 0.01
    step = 0.01
    positions = [i * step for i in range(int(arm.travel_cm / step) + 1)]
    duties = [arm.duty_ns_for_angle(arm.angle_for_position(p)) for p in positions]
    # every 0.01 cm move changes the hardware duty cycle: the resolution is below 0.01 cm
    assert all(b > a for a, b in itertools.pairwise(duties))
    period = arm._pwm.period_ns
    software = {round(d / period * 100) for d in duties}  # lgpio: whole percent
    assert len(software) <= 6 < len(set(duties))


# -- one duty write per PWM frame ---------------------------------------------------------------
@pytest.fixture
def paced(config: BrushConfig) -> Iterator[tuple[BrushArm, Trace, ManualClock]]:
    """A brush whose pacer and trace share one manual clock (no background flusher)."""
    clock = ManualClock()
    trace = Trace(clock=clock)
    pwm = SimPWMChannel(name=config.name, trace=trace, frequency_hz=config.frequency_hz)
    with BrushArm(config=config, pwm=pwm, clock=clock, background_flush=False) as brush:
        brush.start()
        yield brush, trace, clock


def duty_writes(trace: Trace, since_seq: int) -> list[tuple[int, int]]:
    return [(r.t_ns, r.value) for r in trace.since(since_seq) if r.what == "duty_cycle_ns"]


def test_a_1khz_sweep_writes_the_duty_at_most_once_per_50hz_frame(paced, config) -> None:
    """The engine asks every 1 ms; the servo takes one pulse width per 20 ms frame."""
    arm, trace, clock = paced
    assert config.frequency_hz == 50  # the reference servo; FRAME_NS is 1 s / 50
    mark = trace.last_seq() + 1
    clock.advance_ms(20)
    start = clock.now
    for ms in range(1000):  # one second of a steady 5 cm/s stroke, one setpoint per tick
        arm.set_position_cm(1.0 + 5.0 * ms / 1000)
        clock.advance_ms(1)
    writes = duty_writes(trace, mark)
    # one second holds 50 frames: 50 writes, never two in one frame
    assert len(writes) == 50, len(writes)
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(writes)]
    assert min(gaps) >= FRAME_NS
    assert writes[0][0] == start
    # each write carries the newest setpoint of its tick, not an old one
    assert writes[-1][1] == pulse_ns(config, arm.angle_for_position(1.0 + 5.0 * 980 / 1000))


def test_the_final_position_is_always_written(paced, config) -> None:
    arm, trace, clock = paced
    clock.advance_ms(20)
    arm.set_position_cm(2.0)  # written: the frame was free
    clock.advance_ms(5)
    arm.set_position_cm(2.5)  # same frame: pending
    clock.advance_ms(5)
    arm.set_position_cm(3.0)  # replaces 2.5; the move ends here, no further set_* call
    assert arm.pending_duty_ns == pulse_ns(config, arm.angle_for_position(3.0))
    assert arm._pwm.duty_cycle_ns == pulse_ns(config, arm.angle_for_position(2.0))
    clock.advance_ms(9)
    assert arm.flush() is False  # 19 ms after the last write: not yet
    clock.advance_ms(1)
    assert arm.flush() is True
    assert arm._pwm.duty_cycle_ns == pulse_ns(config, arm.angle_for_position(3.0))
    assert [v for _, v in duty_writes(trace, 0)][-2:] == [
        pulse_ns(config, arm.angle_for_position(2.0)),
        pulse_ns(config, arm.angle_for_position(3.0)),  # 2.5 never went out
    ]
    assert arm.pending_duty_ns is None and arm.flush() is False


def test_the_flusher_writes_the_last_setpoint_without_another_call(config) -> None:
    trace = Trace()
    pwm = SimPWMChannel(name=config.name, trace=trace, frequency_hz=config.frequency_hz)
    with BrushArm(config=config, pwm=pwm) as arm:  # the real clock and the flusher thread
        arm.start()
        arm.set_position_cm(4.0)  # within the park write's frame: pending
        assert arm.pending_duty_ns is not None
        target = pulse_ns(config, arm.angle_for_position(4.0))
        deadline = time.monotonic() + 2
        while pwm.duty_cycle_ns != target and time.monotonic() < deadline:
            time.sleep(0.002)
        assert pwm.duty_cycle_ns == target
        park, move = trace.select("brush", "duty_cycle_ns")[-2:]
        assert move.t_ns - park.t_ns >= FRAME_NS


def test_park_is_immediate_and_no_stale_move_follows_it(paced, config) -> None:
    """Stop always wins: a park inside a busy frame goes out at once, and the move that
    was waiting for the frame is dropped, never written after the park."""
    arm, trace, clock = paced
    clock.advance_ms(20)
    arm.set_position_cm(3.0)
    clock.advance_ms(1)
    arm.set_position_cm(3.1)  # pending
    clock.advance_ms(1)
    mark = trace.last_seq() + 1
    arm.park()
    park = pulse_ns(config, config.park_angle_deg)
    assert duty_writes(trace, mark) == [(clock.now, park)]  # 1 ms after the last write
    clock.advance_ms(40)
    assert arm.flush() is False
    assert duty_writes(trace, mark) == [(clock.now - 40_000_000, park)]
    # off() inside a busy frame parks at once too, then detaches
    arm.set_position_cm(2.0)
    clock.advance_ms(1)
    arm.set_position_cm(2.2)
    mark = trace.last_seq() + 1
    arm.off()
    assert [(r.what, r.value) for r in trace.since(mark)] == [
        ("duty_cycle_ns", park),
        ("enable", 0),
    ]


def test_a_setpoint_back_to_the_written_value_cancels_the_pending_one(paced, config) -> None:
    arm, _, clock = paced
    clock.advance_ms(20)
    arm.set_position_cm(3.0)
    arm.set_position_cm(3.5)
    arm.set_position_cm(3.0)
    assert arm.pending_duty_ns is None
    clock.advance_ms(20)
    assert arm.flush() is False


def test_a_bad_duty_is_refused_at_once_even_inside_a_busy_frame(config) -> None:
    from hardware.pwm import DutyPacer

    clock = ManualClock()
    pwm = SimPWMChannel(name="brush", trace=Trace(), frequency_hz=config.frequency_hz)
    pacer = DutyPacer(pwm, clock=clock, background=False)
    pacer.request(1_000_000)
    with pytest.raises(ValueError, match=r"duty_cycle_ns = 20000001: must be 0\.\.20000000"):
        pacer.request(FRAME_NS + 1)
    assert pacer.pending is None and pwm.duty_cycle_ns == 1_000_000


def test_the_pacer_measures_how_old_a_waiting_position_is_when_it_goes_out(config) -> None:
    """A write at the request is fresh; a position that waited for its frame goes out as
    old as the wait (here 15 ms, from a clock the test moves), and the figure keeps the
    worst: what a reader of the trace must allow between a write's stamp and its value."""
    from hardware.pwm import DutyPacer

    clock = ManualClock()
    pwm = SimPWMChannel(name="brush", trace=Trace(), frequency_hz=config.frequency_hz)
    pacer = DutyPacer(pwm, clock=clock, background=False)
    pacer.request(1_000_000)
    assert pacer.max_age_ns == 0
    clock.advance_ms(5)
    pacer.request(1_100_000)  # inside the frame: waits
    clock.advance_ms(15)
    assert pacer.flush() and pwm.duty_cycle_ns == 1_100_000
    assert pacer.max_age_ns == 15_000_000
    clock.advance_ms(20)
    pacer.request(1_200_000)  # frame open: written at once, the worst stays
    assert pacer.max_age_ns == 15_000_000
