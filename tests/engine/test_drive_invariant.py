"""Outputs are off unless the engine keeps them on, by the datasheet's own figures.

For every actuator kind in the default wiring (forearm and hand: LRAs in closed loop;
upper_arm and shoulder: ERMs in open loop) the engine runs on the real simulator backend,
and the trace of register writes is decoded with TI's transfer figures
(``tests.hardware.drive_decode``: the datasheet's reset values and figures, typed in, not
imported from the station). The invariant: armed, paused, between segments, stopped or
faulted, every driver's drive is zero; and no driver is ever driven in reverse.

A window's edges allow one RTP update period for the last ramp step to land; nothing in
these tests depends on how fast the machine is beyond that, except that the windows are
hundreds of milliseconds long.
"""

from __future__ import annotations

import time

import pytest

from tests.engine.helpers import program, running_engine, wait_for_event
from tests.hardware.drive_decode import drive_at, drive_timeline

HAPTICS = ("forearm", "hand", "upper_arm", "shoulder")
MS = 1_000_000
EDGE_MS = 20  # past a segment's end: the last ramp-down write has landed


def _amp(actuator: str, at: int, ms: int, level: float) -> dict:
    return {"type": "amplitude", "actuator": actuator, "at": at, "duration_ms": ms,
            "level": level, "ramp_up_ms": 40, "ramp_down_ms": 40}  # fmt: skip


# Step 0: LRAs play 0-300 ms, ERMs 700-1000 ms: all four silent 300-700 and 1000-1200.
# Step 1: all four play 0-400 ms, then silence to the step's end at 600 ms.
GAPS = program(
    [
        {"duration_ms": 1200, "segments": [
            _amp("forearm", 0, 300, 0.5), _amp("hand", 0, 300, 0.5),
            _amp("upper_arm", 700, 300, 0.5), _amp("shoulder", 700, 300, 0.5)]},
        {"duration_ms": 600, "segments": [_amp(a, 0, 400, 0.4) for a in HAPTICS]},
    ]
)  # fmt: skip
SILENT_MS = [(300, 700), (1000, 1200), (1600, 1800)]  # program time, all four quiet
PLAYING = {"forearm": 150, "hand": 150, "upper_arm": 850, "shoulder": 850}  # level 0.5
STEADY = program([{"duration_ms": 20000, "segments": [_amp(a, 0, 20000, 0.5) for a in HAPTICS]}])


def _timelines(rt) -> dict[str, list[tuple[int, float]]]:
    records = list(rt.hw.sim.trace)
    return {name: drive_timeline(records, name) for name in HAPTICS}


def _assert_never_reverse(lines) -> None:
    for name, line in lines.items():
        worst = min((d for _t, d in line), default=0.0)
        assert worst >= 0.0, f"{name} was driven in reverse ({worst:+.3f} of full scale)"


def _assert_quiet(lines, start_ns: int, end_ns: int, what: str) -> None:
    for name, line in lines.items():
        assert drive_at(line, start_ns) == 0.0, f"{name} drives at the start of {what}"
        loud = [(t, d) for t, d in line if start_ns <= t <= end_ns and d != 0.0]
        assert not loud, f"{name} drove during {what}: {loud[:3]}"


def _haptics_quiet(outputs: dict) -> None:
    for name in HAPTICS:
        assert outputs[name]["active"] is False and outputs[name]["drive"] == 0.0, outputs


def test_armed_and_between_segments_every_driver_is_silent(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        c.call("arm", program=GAPS, session_id="gaps")
        armed = wait_for_event(rt, "state", state="armed")
        time.sleep(0.25)
        _haptics_quiet(c.call("sim.outputs"))  # drivers powered, in RTP mode, silent
        assert c.call("status")["state"] == "armed"
        c.call("start")
        t0 = wait_for_event(rt, "started")["t0_ns"]
        stopped = wait_for_event(rt, "stopped", timeout=10, reason="completed")
        lines = _timelines(rt)
    _assert_never_reverse(lines)
    _assert_quiet(lines, armed["t_ns"], t0 - 1, "the armed wait")
    for lo, hi in SILENT_MS:
        _assert_quiet(lines, t0 + (lo + EDGE_MS) * MS, t0 + hi * MS, f"the gap {lo}-{hi} ms")
    _assert_quiet(lines, stopped["t_ns"], 2**62, "the time after the stop")
    # ...and the test can fail: each driver does drive, forward, at the prescribed level
    # (0.5 -> signed code 63 -> 63/127 of full scale by the figures; never above 0.5).
    for name, at_ms in PLAYING.items():
        drive = drive_at(lines[name], t0 + at_ms * MS)
        assert drive == pytest.approx(63 / 127, abs=1 / 127) and drive <= 0.5, (name, drive)


def test_paused_every_driver_is_silent_and_resume_ramps_back(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        c.call("arm", program=STEADY, session_id="pause")
        c.call("start")
        t0 = wait_for_event(rt, "started")["t0_ns"]
        time.sleep(0.3)
        c.call("pause")
        paused = wait_for_event(rt, "state", state="paused")
        time.sleep(0.3)
        _haptics_quiet(c.call("sim.outputs"))
        c.call("resume")
        resumed = wait_for_event(rt, "state", state="running")
        time.sleep(0.4)
        c.call("stop")
        stopped = wait_for_event(rt, "stopped")
        lines = _timelines(rt)
        _haptics_quiet(c.call("sim.outputs"))
    _assert_never_reverse(lines)
    _assert_quiet(lines, paused["t_ns"] + 2 * MS, resumed["t_ns"], "the pause")
    _assert_quiet(lines, stopped["t_ns"] + 2 * MS, 2**62, "the time after the stop")
    for name in HAPTICS:  # playing before the pause (the test can fail)
        assert drive_at(lines[name], t0 + 250 * MS) > 0.3, name


@pytest.mark.parametrize(("how", "device"), [("stop", None), ("fault", "upper_arm"),
                                             ("fault", "forearm")])  # fmt: skip
def test_stopped_or_faulted_every_driver_is_silent(tmp_path, how, device):
    with running_engine(tmp_path) as (rt, c):
        c.call("arm", program=STEADY, session_id=how)
        c.call("start")
        wait_for_event(rt, "started")
        time.sleep(0.2)
        if how == "stop":
            c.call("stop", reason="user", by="test")
        else:
            c.call("sim.fault", device=device, kind="over_temp")
        stopped = wait_for_event(rt, "stopped")
        assert stopped["reason"] == ("user" if how == "stop" else "fault")
        time.sleep(0.05)
        lines = _timelines(rt)
        _haptics_quiet(c.call("sim.outputs"))
    _assert_never_reverse(lines)
    _assert_quiet(lines, stopped["t_ns"] + 2 * MS, 2**62, f"the time after the {how}")


def test_default_demo_session_drives_the_forearm_at_its_prescribed_level(tmp_path):
    """The demo plan (the built-in vibration ladder, level 1: 20 % of full scale on the
    forearm after a 2 s ramp) as the datasheet says the chip drives it. The first round's
    unsigned code 51 on this closed-loop LRA was below mid-scale: braking, no drive."""
    from station.protocols.compiler import compile_program
    from station.protocols.library import builtin_paths
    from station.protocols.load import load_file
    from station.wiring import load_wiring

    wiring = load_wiring()
    path = next(p for p in builtin_paths() if p.stem == "vibration-ladder")

    prog = compile_program(load_file(path, wiring=wiring), level=0, wiring=wiring)
    steps = [s for s in prog.steps if s.segments]
    seg = steps[0].segments[0]
    assert seg.actuator == "forearm" and seg.level == pytest.approx(0.20)
    with running_engine(tmp_path) as (rt, c):
        c.call("arm", program=prog.model_dump(mode="json"), session_id="demo")
        c.call("start")
        t0 = wait_for_event(rt, "started")["t0_ns"]
        ramp_end = t0 + (steps[0].start_ms + seg.ramp_up_ms + 300) * MS
        while time.monotonic_ns() < ramp_end:
            time.sleep(0.05)
        out = c.call("sim.outputs")["forearm"]
        c.call("stop", reason="user", by="test")
        wait_for_event(rt, "stopped")
        lines = _timelines(rt)
    # 0.20 x 127 = 25.4 -> code 25: 19.7 % of RATED_VOLTAGE, within one step, never above
    drive = drive_at(lines["forearm"], ramp_end)
    assert drive == pytest.approx(0.20, abs=1 / 127) and drive <= 0.20
    assert out["drive"] == pytest.approx(drive, abs=1e-4) and out["reference"] == "RATED_VOLTAGE"
    _assert_never_reverse(lines)
