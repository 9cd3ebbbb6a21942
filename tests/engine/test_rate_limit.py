"""RTP updates per driver are rate-limited to what the chip applies, and staggered.

The figures the rule comes from (TI, via shared/reference/drv2605.md): an LRA in closed
loop applies a new amplitude about once per drive cycle, so an update every 2-4 ms is
enough. The player writes one driver at most every ``RTP_UPDATE_MS`` (4 ms: 4 ticks at
1 kHz), on its own tick slot, and what it writes is always the render at that moment, so
a lowered value, and the final 0, still land (at most ``period - 1`` ticks late).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from station.engine.player import RTP_UPDATE_MS, Player, update_period_ticks
from station.engine.render import amplitude_level, code_level, rtp_code
from station.program import Program
from tests.engine.helpers import program

NAMES = ("forearm", "hand", "shoulder", "upper_arm")  # the player's slots: sorted names


class FakeHaptic:
    def __init__(self, name: str, log: list) -> None:
        self.name, self.log = name, log

    def set_rtp(self, code: int) -> None:
        self.log.append((self.name, "rtp", code))

    def play_effect(self, effect_id: int) -> None:
        self.log.append((self.name, "effect", effect_id))


class FakeBus:
    def __init__(self) -> None:
        self.marks = 0

    def tick_mark(self) -> None:
        self.marks += 1


class FakePoller:
    def __init__(self) -> None:
        self.index = {n: i for i, n in enumerate(NAMES)}
        self.wrote_calls: list[tuple[int, int]] = []
        self.slots: list[tuple[int, int]] = []

    def wrote(self, i: int, code: int) -> None:
        self.wrote_calls.append((i, code))

    def effect(self, i: int) -> None:
        pass

    def slot(self, phase: int, period: int) -> None:
        self.slots.append((phase, period))


def _hw(rate_hz: int = 1000):
    log: list = []
    hw = SimpleNamespace(
        haptics={n: FakeHaptic(n, log) for n in NAMES}, brushes={}, bus=FakeBus(),
        wiring=SimpleNamespace(engine=SimpleNamespace(rate_hz=rate_hz)),
    )  # fmt: skip
    return hw, log


def _amp(actuator: str, **kw) -> dict:
    seg = {"type": "amplitude", "actuator": actuator, "duration_ms": 400, "level": 0.8,
           "ramp_up_ms": 100, "ramp_down_ms": 100}  # fmt: skip
    seg.update(kw)
    return seg


def _play(player: Player, log: list, ms: int) -> list[tuple[int, str, str, int]]:
    """Tick at every whole ms; (tick, name, what, value) for every write."""
    out = []
    for t in range(ms):
        n = len(log)
        player.tick(float(t))
        out += [(t, name, what, v) for name, what, v in log[n:]]
    return out


def test_period_is_the_chip_update_interval_in_ticks():
    assert RTP_UPDATE_MS == 4.0
    assert update_period_ticks(1000) == 4
    assert update_period_ticks(500) == 2
    assert update_period_ticks(100) == 1  # a slow loop is never limited below a tick
    hw, _ = _hw(rate_hz=500)
    prog = Program.model_validate(program([{"duration_ms": 400, "segments": [_amp("hand")]}]))
    assert Player(program=prog, hw=hw).rtp_period == 2
    assert Player(program=prog, hw=hw, rate_hz=1000).rtp_period == 4


def test_four_drivers_ramping_at_once_are_written_one_per_tick_on_their_slots():
    hw, log = _hw()
    poller = FakePoller()
    prog = Program.model_validate(
        program([{"duration_ms": 400, "segments": [_amp(n) for n in NAMES]}])
    )
    player = Player(program=prog, hw=hw, poller=poller)
    writes = [w for w in _play(player, log, 400) if w[2] == "rtp"]
    assert writes, "nothing written"
    ticks = [t for t, *_ in writes]
    assert len(ticks) == len(set(ticks)), "two drivers' RTP writes in one tick"
    seg = prog.steps[0].segments[0]
    for slot, name in enumerate(NAMES):
        mine = [(t, v) for t, n, _, v in writes if n == name]
        assert all(t % 4 == slot for t, _ in mine), (name, mine[:5])
        # every write is the render at the moment it is written
        assert all(v == rtp_code(amplitude_level(seg, t)) for t, v in mine), name
        # the held value is never more than one period behind the render
        for t in range(400):
            held = next((v for tw, v in reversed(mine) if tw <= t), 0)
            window = [rtp_code(amplitude_level(seg, t - k)) for k in range(4) if t - k >= 0]
            assert min(window) <= held <= max(window), (name, t, held, window)
    assert hw.bus.marks == 400  # the simulator's per-tick bus meter is marked every tick
    # the fault poller hears of every write, with the code written
    assert [(NAMES[i], c) for i, c in poller.wrote_calls] == [(n, v) for _, n, _, v in writes]


def test_the_final_zero_always_lands_on_the_next_slot():
    """A ramp down ending between a driver's slots: its 0 is written on its next slot."""
    hw, log = _hw()
    # the program's only driver has slot 0: written at ticks 0, 4, 8, ...; its segment
    # ends at 102 (render 0 from there), so the 0 lands at 104, two ticks later
    prog = Program.model_validate(program([{"duration_ms": 200, "segments": [
        _amp("upper_arm", duration_ms=102, ramp_up_ms=50, ramp_down_ms=50)]}]))  # fmt: skip
    player = Player(program=prog, hw=hw)
    writes = [(t, v) for t, n, what, v in _play(player, log, 200) if n == "upper_arm"]
    assert writes[-1] == (104, 0), writes[-3:]
    assert max(v for _, v in writes) > 0


def test_pause_silences_every_driver_at_once():
    hw, log = _hw()
    prog = Program.model_validate(
        program([{"duration_ms": 400, "segments": [_amp(n) for n in NAMES]}])
    )
    player = Player(program=prog, hw=hw)
    _play(player, log, 150)
    n = len(log)
    player.silence()
    assert sorted((name, v) for name, what, v in log[n:]) == [(name, 0) for name in NAMES]


def test_the_peak_tally_is_the_highest_code_written():
    hw, log = _hw()
    prog = Program.model_validate(program([{"duration_ms": 400, "segments": [_amp("hand")]}]))
    player = Player(program=prog, hw=hw)
    writes = _play(player, log, 399)
    peak = max(v for _, n, what, v in writes if n == "hand")
    assert peak == rtp_code(0.8)
    (hand,) = player.delivered()
    assert hand["peak_level"] == pytest.approx(round(code_level(peak), 4))


def test_taps_are_not_delayed_to_a_slot():
    hw, log = _hw()
    tap = {"type": "taps", "actuator": "upper_arm", "duration_ms": 400, "effect_id": 1,
           "interval_ms": 101}  # fmt: skip
    prog = Program.model_validate(program([{"duration_ms": 400, "segments": [tap]}]))
    player = Player(program=prog, hw=hw)
    effects = [t for t, n, what, _ in _play(player, log, 400) if what == "effect"]
    assert effects == [0, 101, 202, 303]


def test_slots_follow_the_poller_order_so_they_mean_the_same_driver_in_every_program():
    """With a fault poller the slot is the driver's index among all the station's drivers,
    not its place in the program: a program on upper_arm alone still writes it on slot 3
    of the poller's order (forearm, hand, shoulder, upper_arm here)."""
    hw, log = _hw()
    poller = FakePoller()
    segs = [_amp("upper_arm", duration_ms=200)]
    prog = Program.model_validate(program([{"duration_ms": 200, "segments": segs}]))
    player = Player(program=prog, hw=hw, poller=poller)
    ticks = [t for t, n, what, _ in _play(player, log, 200) if what == "rtp"]
    assert ticks and all(t % 4 == 3 for t in ticks), ticks[:5]
    assert player.rtp_phase == 199 % 4


def test_a_poller_that_staggers_its_reads_is_told_each_tick_s_slot():
    """``slot(phase, period)`` after the tick's writes: a poller can read STATUS of the
    driver on this tick's slot (its channel selected for the write anyway) instead of
    sweeping several channels in one tick."""
    hw, log = _hw()
    poller = FakePoller()
    seen: list[tuple[int, int, int]] = []
    poller.slot = lambda phase, period: seen.append((len(log), phase, period))
    segs = [_amp(n, duration_ms=40, ramp_up_ms=20, ramp_down_ms=20) for n in NAMES]
    prog = Program.model_validate(program([{"duration_ms": 40, "segments": segs}]))
    player = Player(program=prog, hw=hw, poller=poller)
    for t in range(8):
        n = len(log)
        player.tick(float(t))
        assert seen[-1] == (len(log), t % 4, 4)  # after this tick's writes
        assert len(log) - n <= 1
