"""Helpers for the appliance tests (tests/test_appliance_*.py): the real engine on the
simulator, driven by its panel.

Every test presses the *simulated* buttons (``sim.press`` / ``sim.release`` over IPC, i.e.
mock pins under gpiozero) with real time for long presses, then checks the state the
engine reached, the outputs the simulated chips report, and the LED pattern twice: the
name the panel shows (``status()["led"]``) and what the LED pins physically do (steady
level or toggling, read from the pin trace) against ``hardware.panel.LED_PATTERNS``.
"""

from __future__ import annotations

import time
from pathlib import Path

from hardware.panel import LED_PATTERNS, ON, Blink
from station.engine.panel_control import LONG_PRESS_S
from tests.engine.helpers import steady, wait_for_event

HAPTICS = ("forearm", "hand", "upper_arm", "shoulder")
LONG_S = LONG_PRESS_S + 0.15
ROOT = Path(__file__).resolve().parents[1]
SLOW_BLINK_S = 1.2  # patterns blinking slower than this are checked by name only


# --- helpers -------------------------------------------------------------------------
def tap(c, button: str, hold: float = 0.05) -> None:
    """A short press (longer than the 20 ms debounce) and a pause after it."""
    c.call("sim.press", button=button)
    time.sleep(hold)
    c.call("sim.release", button=button)
    time.sleep(0.05)


def wait_until(fn, timeout: float = 3.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"{what} not reached within {timeout} s (last: {fn()!r})")


def wait_state(c, state: str, timeout: float = 3.0) -> dict:
    return wait_until(
        lambda: (st := c.call("status"))["state"] == state and st, timeout, f"state {state}"
    )


def expected_modes(pattern: str, led_pins: dict[str, int]) -> dict[str, str]:
    modes = LED_PATTERNS[pattern]
    out = {}
    for colour in led_pins:
        mode = modes.get(colour, "off")
        out[colour] = "blink" if isinstance(mode, Blink) else ("on" if mode == ON else "off")
    return out


def assert_leds(rt, c, pattern: str) -> None:
    """The panel shows ``pattern`` by name (status) and on the pins: steady colours hold
    their level through a window, blinking colours toggle at least twice in it."""
    wait_until(lambda: c.call("status")["led"] == pattern, what=f"LED pattern {pattern}")
    pins = dict(rt.hw.wiring.panel.led_pins)
    blinks = [m for m in LED_PATTERNS[pattern].values() if isinstance(m, Blink)]
    period = max((b.on_s + b.off_s for b in blinks), default=0.0)
    if period > SLOW_BLINK_S:
        return  # a 2-3 s heartbeat: the name above is checked, the pins would cost seconds
    trace = rt.hw.sim.trace
    t0 = time.monotonic_ns()
    time.sleep(max(0.25, period + 0.15))
    seen = {}
    for colour, pin in pins.items():
        edges = trace.select(f"gpio{pin}", "pin", since_ns=t0)
        if len(edges) >= 2:
            seen[colour] = "blink"
        elif edges:
            seen[colour] = f"changed once to {edges[-1].value}"
        else:
            seen[colour] = "on" if rt.hw.sim.pins.level(pin) else "off"
    assert seen == expected_modes(pattern, pins), f"pattern {pattern}"
    assert c.call("status")["led"] == pattern  # and nothing changed it meanwhile


def assert_all_off(c) -> None:
    outputs = c.call("sim.outputs")
    assert not any(o["active"] for o in outputs.values()), outputs


def silence_ns(trace, since_ns: int) -> int:
    """When the last haptic driver's EN went low after ``since_ns`` (each must). How soon
    is tests/engine/test_stops.py's ``timing`` test; here it is what and in which order."""
    last = 0
    for name in HAPTICS:
        lows = [r for r in trace.select(name, "EN") if r.t_ns >= since_ns and r.value == 0]
        assert lows, f"{name}: EN never went low"
        last = max(last, lows[0].t_ns)
    return last


def pin_edge_ns(rt, button: str, since_ns: int) -> int:
    pin = rt.hw.sim.button_pin(button)
    return rt.hw.sim.trace.select(f"gpio{pin}", "pin", since_ns=since_ns)[0].t_ns


def start_running(rt, c, session_id: str, prog=None) -> None:
    c.call("arm", program=prog or steady(ms=20000), session_id=session_id)
    tap(c, "start")
    wait_for_event(rt, "started", session_id=session_id)
    wait_until(lambda: c.call("sim.outputs")["forearm"]["active"], what="forearm vibrating")
