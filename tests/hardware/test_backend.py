"""The composed hardware on the simulator: real drivers, physical outputs, faults -> off."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from hardware.backend import open_hardware
from hardware.selftest import run_selftest
from station.errors import HardwareError
from station.wiring import load_wiring


@pytest.fixture
def hw(tmp_path):
    with open_hardware(load_wiring(), simulate=True, data_dir=tmp_path) as hardware:
        yield hardware


def all_quiet(outputs: dict) -> bool:
    return not any(o["active"] for o in outputs.values())


def test_opens_with_every_output_off_and_en_low(hw):
    assert all_quiet(hw.sim.outputs())
    for h in hw.wiring.haptic:
        assert hw.sim.pins.level(h.enable_pin) == 0


def test_outputs_follow_register_writes(hw):
    hw.start_all()
    hw.haptics["hand"].set_rtp(64)
    out = hw.sim.outputs()
    # closed-loop LRA, signed RTP: 0x7F is RATED_VOLTAGE, so 64 is 64/127 of it
    assert out["hand"]["active"] and out["hand"]["level"] == pytest.approx(64 / 127, abs=1e-3)
    assert out["hand"]["drive"] > 0 and out["hand"]["reference"] == "RATED_VOLTAGE"
    assert not out["forearm"]["active"]
    # start_all wrote the park pulse this PWM frame: the move goes out at the next frame
    # (one duty write per 20 ms frame), written by the pacer with no further call
    hw.brushes["brush"].set_position_cm(5.0)
    deadline = time.monotonic() + 2
    while abs(hw.sim.outputs()["brush"]["position_cm"] - 5.0) > 0.01:
        assert time.monotonic() < deadline, hw.sim.outputs()["brush"]
        time.sleep(0.002)


def test_device_limit_is_never_exceeded(hw):
    hw.start_all()
    for name in hw.haptics:
        hw.haptics[name].set_rtp(255)  # max_amplitude 0.9 -> 114 (0.9 x 127, rounded down)
        out = hw.sim.outputs()[name]
        assert out["drive"] == pytest.approx(114 / 127, abs=1e-3)
        assert 0 < out["drive"] <= 0.9


def test_trace_records_rtp_writes_and_en_edges(hw):
    hw.start_all()
    before = hw.sim.trace.last_seq()
    hw.haptics["forearm"].set_rtp(40)
    writes = [r for r in hw.sim.trace.since(before + 1) if r.what == "RTP_INPUT"]
    assert [(r.device, r.value) for r in writes] == [("forearm", 40)]
    en = hw.wiring.haptic_by_name("forearm").enable_pin
    assert any(r.device == f"gpio{en}" and r.value == 1 for r in hw.sim.trace)


@pytest.mark.parametrize("fault", ["over_temp", "over_current", "nack"])
def test_fault_during_stimulus_ends_with_every_output_off(hw, fault):
    hw.start_all()
    for haptic in hw.haptics.values():
        haptic.set_rtp(100)
    hw.brushes["brush"].set_position_cm(4.0)
    hw.sim.inject_fault("forearm", fault)
    # What the engine does on any fault: detect it, then silence everything.
    if fault == "nack":
        with pytest.raises(HardwareError):
            hw.haptics["forearm"].check_faults()
        # A NACKing chip keeps driving from its registers (RTP never times out) ...
        assert hw.sim.outputs()["forearm"]["active"]
    else:
        assert hw.haptics["forearm"].check_faults()
    hw.all_off()
    # ... and only EN low silences it: the fail-safe path does not need the bus.
    assert all_quiet(hw.sim.outputs())


def test_wrong_device_id_is_a_clear_error_with_outputs_off(tmp_path):
    with open_hardware(
        load_wiring(), simulate=True, data_dir=tmp_path, device_ids={"hand": 4}
    ) as hw:
        with pytest.raises(HardwareError) as info:
            hw.start_all()
        assert info.value.device == "hand"
        assert all_quiet(hw.sim.outputs())


def test_selftest_passes_on_the_simulator(hw):
    results = run_selftest(hw, sleep=lambda s: None)
    assert [r.device for r in results] == [
        "forearm",
        "hand",
        "upper_arm",
        "shoulder",
        "brush",
        "panel",
    ]
    assert all(r.ok for r in results), [r.line() for r in results]
    assert all_quiet(hw.sim.outputs())


def test_selftest_names_the_failing_device(hw):
    hw.sim.inject_fault("upper_arm", "missing")
    hw.sim.press("estop")
    results = {r.device: r for r in run_selftest(hw, sleep=lambda s: None)}
    assert not results["upper_arm"].ok and "channel 2" in results["upper_arm"].reason
    assert not results["panel"].ok and "e-stop" in results["panel"].reason
    assert results["forearm"].ok
    assert all_quiet(hw.sim.outputs())


@pytest.mark.slow
def test_selftest_command_exit_codes(tmp_path):
    base = [sys.executable, "-m", "station.cli", "selftest", "--sim", "--data-dir", str(tmp_path)]
    ok = subprocess.run(base, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("PASS") == 6
    bad = subprocess.run(
        [*base, "--inject", "hand:missing"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1
    assert "FAIL  hand:" in bad.stdout and "Traceback" not in bad.stderr


def test_bad_wiring_file_is_one_clear_line(tmp_path):
    cfg = tmp_path / "w.toml"
    cfg.write_text("[panel]\nstart_pin = 5\nstop_pin = 5\n")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "station.cli",
            "selftest",
            "--sim",
            "--config",
            str(cfg),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert "panel.stop_pin = 5" in r.stderr and "Traceback" not in r.stderr


def test_all_off_drops_every_en_line_before_any_bus_write(hw):
    """Silence first: four EN writes take microseconds; the register writes after them
    (RTP 0, standby) would take ~0.1 ms each on a real 400 kHz bus."""
    hw.start_all()
    for haptic in hw.haptics.values():
        haptic.set_rtp(120)
    mark = hw.sim.trace.last_seq() + 1
    hw.all_off()
    records = hw.sim.trace.since(mark)
    en_pins = {f"gpio{h.enable_pin}" for h in hw.wiring.haptic}
    en_lows = [i for i, r in enumerate(records) if r.device in en_pins and r.value == 0]
    bus_writes = [i for i, r in enumerate(records) if r.device in hw.haptics and r.what != "EN"]
    assert len(en_lows) == 4
    assert max(en_lows) < min(bus_writes, default=len(records))
    assert all_quiet(hw.sim.outputs())
