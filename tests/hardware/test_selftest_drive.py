"""The self-test reads each driver's drive back from its registers and decodes it with
the datasheet's transfer: quiet at rest, forward at the commanded level when pulsed, an
LRA resonating, quiet after, and quiet with EN low. Each failure names what to check."""

from __future__ import annotations

import pytest

from hardware.backend import open_hardware
from hardware.selftest import run_selftest
from station.wiring import load_wiring


@pytest.fixture
def hw(tmp_path):
    with open_hardware(load_wiring(), simulate=True, data_dir=tmp_path) as hardware:
        yield hardware


def _results(hw) -> dict:
    return {r.device: r for r in run_selftest(hw, sleep=lambda s: None)}


def _quiet(hw) -> None:
    assert not any(o["active"] for o in hw.sim.outputs().values())


def test_pass_lines_say_what_was_measured(hw):
    results = _results(hw)
    assert all(r.ok for r in results.values()), [r.line() for r in results.values()]
    # 30/127 of full scale; LRAs closed loop (RATED_VOLTAGE) at the simulated 175 Hz,
    # ERMs open loop (OD_CLAMP).
    assert "24% of RATED_VOLTAGE, resonating at 175 Hz" in results["forearm"].reason
    assert "24% of OD_CLAMP" in results["upper_arm"].reason
    assert "quiet with EN low" in results["shoulder"].reason
    _quiet(hw)


def test_a_driver_left_in_unsigned_rtp_fails_at_rest(hw, monkeypatch):
    """The first round's configuration: unsigned RTP 0 on an open-loop ERM is full
    reverse drive. The self-test must catch it before anyone feels it."""
    erm = hw.haptics["upper_arm"]
    monkeypatch.setattr(erm, "_control3", lambda c3: c3 | 0x08 | 0x20)
    results = _results(hw)
    reason = results["upper_arm"].reason
    assert not results["upper_arm"].ok
    # HapticDriver.start reads the drive back before anything plays, so the self-test's
    # own at-rest check never even gets there
    assert "after start-up at RTP 0 the chip on mux channel 2 drives -100% of full" in reason
    assert "unsigned RTP" in reason and "open loop" in reason
    assert results["forearm"].ok
    _quiet(hw)


def test_a_driver_that_does_not_take_the_amplitude_fails(hw, monkeypatch):
    monkeypatch.setattr(hw.haptics["hand"], "set_rtp", lambda code: None)
    results = _results(hw)
    assert not results["hand"].ok
    assert "told to drive 24% of full scale, its registers say +0%" in results["hand"].reason
    _quiet(hw)


def test_an_lra_that_does_not_resonate_fails(hw):
    hw.sim.chips["forearm"].actuator_connected = False
    results = _results(hw)
    assert not results["forearm"].ok
    assert "does not resonate" in results["forearm"].reason
    assert "is connected" in results["forearm"].reason
    _quiet(hw)


def test_a_board_whose_en_does_not_reach_the_chip_fails(hw):
    hw.sim.inject_fault("shoulder", "en_unconnected")
    results = _results(hw)
    assert not results["shoulder"].ok
    reason = results["shoulder"].reason
    assert "EN (GPIO23) low" in reason and "hardware/README.md" in reason
    assert results["upper_arm"].ok
    # Its register writes (RTP 0, standby) still silenced it.
    assert hw.sim.outputs()["shoulder"]["active"] is False
