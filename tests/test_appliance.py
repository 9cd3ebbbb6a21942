"""Issue 7, the appliance: the real engine on the simulator, driven by its panel.

Every test presses the *simulated* buttons (``sim.press`` / ``sim.release`` over IPC, i.e.
mock pins under gpiozero) with real time for long presses, then checks the state the
engine reached, the outputs the simulated chips report, and the LED pattern twice: the
name the panel shows (``status()["led"]``) and what the LED pins physically do (steady
level or toggling, read from the pin trace) against ``hardware.panel.LED_PATTERNS``.
``station status`` is checked against the same running engine.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hardware.panel import LED_PATTERNS, ON, RATE_CONFIRM_S, Blink, GpioPanel
from hardware.sim.pins import TracedMockFactory
from hardware.trace import Trace
from station.cli import main as cli_main
from station.engine.ipc import RemoteError
from station.engine.panel_control import CHORD_S, LONG_PRESS_S
from station.wiring import load_wiring
from tests.engine.helpers import program, running_engine, steady, wait_for_event

HAPTICS = ("forearm", "hand", "upper_arm", "shoulder")
ONE_TICK_NS = 2_000_000  # one 1 kHz period plus the switch-off writes (as test_stops)
LONG_S = LONG_PRESS_S + 0.15
ROOT = Path(__file__).resolve().parents[1]
SLOW_BLINK_S = 1.2  # patterns blinking slower than this are checked by name only

# a short vibration, then a rating step that lasts long enough to rate by hand
RATE_PROGRAM = program(
    [
        {
            "duration_ms": 200,
            "segments": [
                {
                    "type": "amplitude",
                    "actuator": "forearm",
                    "duration_ms": 200,
                    "level": 0.4,
                    "ramp_up_ms": 20,
                    "ramp_down_ms": 20,
                }
            ],
        },
        {"kind": "rate", "duration_ms": 20000, "segments": []},
    ],
    stop_threshold=7,
)


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
    """When the last haptic driver's EN went low after ``since_ns`` (each must)."""
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


# --- buttons -------------------------------------------------------------------------
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
        assert silence_ns(rt.hw.sim.trace, edge) - edge <= ONE_TICK_NS
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
def test_estop_latches_refuses_start_and_resets_by_both_buttons(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        start_running(rt, c, "e")
        t = time.monotonic_ns()
        c.call("sim.press", button="estop")  # the mushroom: contact opens
        ev = wait_for_event(rt, "stopped", session_id="e")
        assert ev["reason"] == "estop"
        edge = pin_edge_ns(rt, "estop", t)
        assert silence_ns(rt.hw.sim.trace, edge) - edge <= ONE_TICK_NS
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


# --- rating on the device --------------------------------------------------------------
def _ratings(rt) -> list[dict]:
    return [e for e in list(rt.hub.recent) if e["event"] == "rating"]


def test_rating_buttons_rate_confirm_and_stop_at_the_threshold(tmp_path):
    with running_engine(tmp_path) as (rt, c):
        start_running(rt, c, "r", RATE_PROGRAM)
        wait_for_event(rt, "step_started", session_id="r", kind="rate", timeout=3)
        assert_leds(rt, c, "rating")

        for _ in range(3):
            tap(c, "up")
        tap(c, "down")  # a short press of down lowers
        wait_until(lambda: len(_ratings(rt)) == 4, what="four rating events")
        assert [(e["value"], e["confirmed"]) for e in _ratings(rt)] == [
            (1, False),
            (2, False),
            (3, False),
            (2, False),
        ]
        assert c.call("status")["live_rating"] == 2

        tap(c, "down", hold=RATE_CONFIRM_S + 0.1)  # held: confirms, does not lower
        confirmed = wait_for_event(rt, "rating", confirmed=True)
        assert confirmed["value"] == 2 and confirmed["by"] == "panel"
        assert confirmed["session_id"] == "r"  # so the app can file it with the session
        assert c.call("status")["state"] == "running"  # below the threshold: plays on

        tap(c, "start")  # a pause in the rating step, then back to "rate now"
        wait_state(c, "paused")
        assert c.call("status")["led"] == "paused"
        tap(c, "start")
        wait_state(c, "running")
        assert_leds(rt, c, "rating")

        for _ in range(5):  # up to 7 = the threshold: stops on the press itself
            tap(c, "up")
        ev = wait_for_event(rt, "stopped", session_id="r")
        assert ev["reason"] == "rating"
        assert [e["value"] for e in _ratings(rt)][-5:] == [3, 4, 5, 6, 7]
        assert_all_off(c)
        assert_leds(rt, c, "stopped")


def test_buttons_only_rating_confirm_is_a_long_press_of_down():
    """The panel alone (fake clock): down acts on release, short = -1, held = confirm;
    up acts on press, so a rating that reaches the stop threshold never waits."""

    class Clock:
        now = 50.0

        def __call__(self) -> float:
            return self.now

    wiring = load_wiring(None)
    rating = wiring.panel.rating
    factory = TracedMockFactory(trace=Trace())
    clock = Clock()
    calls: list[int] = []
    with GpioPanel(config=wiring.panel, pin_factory=factory, clock=clock) as p:
        p.on_rating = calls.append
        factory.press(rating.up_pin)
        assert calls == [1]  # on the press
        factory.release(rating.up_pin)
        factory.press(rating.down_pin)
        assert calls == [1]  # nothing until the release tells short from held
        clock.now += RATE_CONFIRM_S - 0.01
        factory.release(rating.down_pin)
        assert calls == [1, -1]
        factory.press(rating.down_pin)
        clock.now += RATE_CONFIRM_S
        factory.release(rating.down_pin)
        assert calls == [1, -1, 0]


# --- station status --------------------------------------------------------------------
def _station_status(tmp_path, capsys, *extra: str) -> str:
    assert cli_main(["status", "--data-dir", str(tmp_path), *extra]) == 0
    return capsys.readouterr().out


def test_station_status_prints_state_last_session_and_timing(tmp_path, capsys):
    with running_engine(tmp_path) as (rt, c):
        out = _station_status(tmp_path, capsys)
        assert out.startswith("state:    idle (sim, 1000 Hz; panel LEDs: idle)")
        assert "last session: none since the engine started" in out
        assert "last run timing: no run since the engine started" in out

        short = steady(ms=300)
        c.call("arm", program=short, session_id="s1")
        tap(c, "start")
        wait_for_event(rt, "stopped", session_id="s1", timeout=3)
        st = wait_state(c, "idle")
        t = st["timing"]
        assert t["ticks"] >= 250  # the run really ran at about 1 kHz for 300 ms

        lines = _station_status(tmp_path, capsys).splitlines()
        by_label = {line.split(":", 1)[0]: line for line in lines}
        assert by_label["state"].startswith("state:    idle (sim, 1000 Hz")
        assert by_label["last session"].startswith("last session: s1 ended: completed")
        ms = st["last_stop"]["program_ms"]
        assert f"at {ms / 1000:.1f} s into the program" in by_label["last session"]
        timing = by_label["last run timing"]
        for field in ("ticks", "p50_us", "p99_us", "max_us"):
            assert str(t[field]) in timing, field
        assert f"{t['missed']} missed deadlines" in timing

        c.call("arm", program=steady(ms=20000), session_id="s2")
        tap(c, "start")
        wait_state(c, "running")
        out = _station_status(tmp_path, capsys)
        assert "state:    running" in out and "panel LEDs: running" in out
        assert "program:  test level L1 (20000 ms), session s2" in out
        assert "last session: s1 ended: completed" in out  # s2 has not ended yet
        tap(c, "stop")
        wait_for_event(rt, "stopped", session_id="s2")
        out = _station_status(tmp_path, capsys)
        assert "last session: s2 ended: panel_stop by panel stop button" in out

        raw = _station_status(tmp_path, capsys, "--json")
        assert '"led": "stopped"' in raw and '"timing": {' in raw


def test_station_status_without_an_engine_says_how_to_start_it(tmp_path, capsys):
    assert cli_main(["status", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "the engine is not answering" in err and "station run" in err


def test_readme_quotes_every_led_pattern_as_the_code_has_it():
    readme = (ROOT / "README.md").read_text()
    source = (ROOT / "hardware" / "panel.py").read_text().splitlines()
    assert "## The panel" in readme
    for name in LED_PATTERNS:
        line = next(ln.strip() for ln in source if ln.strip().startswith(f'"{name}": {{'))
        assert line in readme, f"README's panel section lacks or misquotes {name!r}: {line}"
