"""The appliance's buttons, e-stop and fault display: the real engine on the simulator,
driven by its simulated panel (see tests/appliancekit.py for how the LEDs are checked)."""

from __future__ import annotations

import time

import pytest

from station.engine.ipc import RemoteError
from station.engine.panel_control import CHORD_S
from tests.appliancekit import (
    LONG_S,
    assert_all_off,
    assert_leds,
    pin_edge_ns,
    silence_ns,
    start_running,
    tap,
    wait_state,
    wait_until,
)
from tests.engine.helpers import running_engine, steady, wait_for_event


# --- buttons -------------------------------------------------------------------------
@pytest.mark.slow
def test_start_pause_resume_long_press_and_stop_button(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        assert_leds(rt, c, "idle")
        c.call("arm", program=steady(ms=20000), session_id="a")
        assert_leds(rt, c, "armed")

        tap(c, "start")  # armed: start
        wait_state(c, "running")
        assert wait_for_event(rt, "started", session_id="a")["by"] == "panel"
        wait_until(lambda: c.call("sim.outputs")["forearm"]["active"], what="vibrating")
        assert_leds(rt, c, "running")

        tap(c, "start")  # running: pause, outputs to zero
        wait_state(c, "paused")
        time.sleep(0.05)  # the ramp-free silence has landed
        assert_all_off(c)
        assert_leds(rt, c, "paused")

        tap(c, "start")  # paused: resume
        wait_state(c, "running")
        wait_until(lambda: c.call("sim.outputs")["forearm"]["active"], what="vibrating again")
        assert_leds(rt, c, "running")

        c.call("sim.press", button="start")  # long press: pauses at once, stops when held
        time.sleep(LONG_S)
        ev = wait_for_event(rt, "stopped", session_id="a")
        assert c.call("status")["state"] == "stopped"  # while still held: no release needed
        c.call("sim.release", button="start")
        assert ev["reason"] == "panel_stop" and ev["by"] == "panel start held"
        assert_all_off(c)
        assert_leds(rt, c, "stopped")
        time.sleep(0.1)
        assert c.call("status")["state"] == "stopped"  # the release did not resume anything

        start_running(rt, c, "b")  # the stop button: stops at once
        t = time.monotonic_ns()
        tap(c, "stop")
        ev = wait_for_event(rt, "stopped", session_id="b")
        assert ev["reason"] == "panel_stop" and ev["by"] == "panel stop button"
        edge = pin_edge_ns(rt, "stop", t)
        assert silence_ns(rt.hw.sim.trace, edge) <= ev["t_ns"]  # silenced, then reported
        assert_all_off(c)
        assert wait_state(c, "stopped")
        assert_leds(rt, c, "stopped")


def test_start_press_without_an_armed_program_does_nothing(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        tap(c, "start")
        time.sleep(0.1)
        assert c.call("status")["state"] == "idle"
        assert not [e for e in rt.hub.recent if e["event"] == "started"]
        assert_all_off(c)


def test_idle_indicator_patterns_due_and_limit(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        c.call("set_indicator", pattern="due")
        assert_leds(rt, c, "due")
        c.call("set_indicator", pattern="limit")
        assert_leds(rt, c, "limit")
        c.call("arm", program=steady(ms=20000), session_id="d")
        assert_leds(rt, c, "armed")  # an armed program outranks the idle indicator
        c.call("disarm")
        assert_leds(rt, c, "limit")  # and the indicator comes back when idle again


# --- e-stop --------------------------------------------------------------------------
@pytest.mark.slow
def test_estop_latches_refuses_start_and_resets_by_both_buttons(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        start_running(rt, c, "e")
        t = time.monotonic_ns()
        c.call("sim.press", button="estop")  # the mushroom: contact opens
        ev = wait_for_event(rt, "stopped", session_id="e")
        assert ev["reason"] == "estop"
        edge = pin_edge_ns(rt, "estop", t)
        assert silence_ns(rt.hw.sim.trace, edge) <= ev["t_ns"]  # silenced, then reported
        assert_all_off(c)
        assert wait_state(c, "estop")["estop_latched"] is True
        assert_leds(rt, c, "estop")

        tap(c, "start")  # refused on the panel ...
        time.sleep(0.1)
        assert c.call("status")["state"] == "estop"
        with pytest.raises(RemoteError) as exc:  # ... and over IPC, arm and start alike
            c.call("arm", program=steady(ms=20000), session_id="again")
        assert exc.value.code == "estop"
        with pytest.raises(RemoteError) as exc:
            c.call("start")
        assert exc.value.code == "estop"

        # both buttons held while the contact is still open: no reset
        c.call("sim.press", button="stop")
        c.call("sim.press", button="start")
        time.sleep(LONG_S)
        c.call("sim.release", button="start")
        c.call("sim.release", button="stop")
        assert c.call("status")["state"] == "estop"
        assert not [e for e in rt.hub.recent if e["event"] == "estop_reset"]

        c.call("sim.release", button="estop")  # twisted out: contact closed
        time.sleep(0.1)
        assert c.call("status")["estop_latched"] is True  # closing alone does not unlatch

        tap(c, "start", hold=LONG_S)  # a long press of start alone is not the reset
        assert c.call("status")["state"] == "estop"

        c.call("sim.press", button="stop")  # both, stop first, start within CHORD_S
        time.sleep(CHORD_S / 5)
        c.call("sim.press", button="start")
        time.sleep(LONG_S)
        reset = wait_for_event(rt, "estop_reset")
        c.call("sim.release", button="start")
        c.call("sim.release", button="stop")
        assert reset["by"] == "panel (start + stop held)"
        st = wait_state(c, "idle")
        assert st["estop_latched"] is False
        assert_leds(rt, c, "idle")
        assert_all_off(c)

        c.call("arm", program=steady(ms=20000), session_id="after")
        assert_leds(rt, c, "armed")
        tap(c, "start")
        wait_state(c, "running")  # the panel starts again
        c.call("stop")


def test_estop_reset_over_ipc(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        c.call("arm", program=steady(ms=20000), session_id="i")
        c.call("sim.press", button="estop")  # armed, not running: drivers powered down too
        ev = wait_for_event(rt, "stopped", reason="estop")
        assert ev["session_id"] == "i"
        wait_state(c, "estop")
        assert_all_off(c)
        assert all(rt.hw.sim.pins.level(h.enable_pin) == 0 for h in rt.hw.wiring.haptic)
        with pytest.raises(RemoteError) as exc:
            c.call("reset_estop")  # contact still open
        assert exc.value.code == "estop_active"
        c.call("sim.release", button="estop")
        assert c.call("reset_estop")["state"] == "idle"
        assert wait_for_event(rt, "estop_reset")["by"] == "api"
        assert_leds(rt, c, "idle")
        c.call("arm", program=steady(ms=20000), session_id="j")
        assert_leds(rt, c, "armed")


# --- fault ---------------------------------------------------------------------------
def test_fault_shows_the_fault_pattern_until_rearmed(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        start_running(rt, c, "f")
        c.call("sim.fault", device="forearm", kind="over_temp")
        fault = wait_for_event(rt, "fault")
        assert fault["device"] == "forearm"
        assert wait_for_event(rt, "stopped", session_id="f")["reason"] == "fault"
        assert wait_state(c, "fault")["fault"]["device"] == "forearm"
        assert_all_off(c)
        assert_leds(rt, c, "fault")
        tap(c, "start")  # nothing armed: the panel cannot restart a faulted run
        time.sleep(0.1)
        assert c.call("status")["state"] == "fault"
        c.call("sim.clear_faults")
        c.call("arm", program=steady(ms=20000), session_id="g")
        assert c.call("status")["fault"] is None
        assert_leds(rt, c, "armed")
