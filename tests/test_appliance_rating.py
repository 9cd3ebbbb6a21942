"""Rating on the device: the rating buttons on the real engine (simulated panel), and the
panel alone on a fake clock."""

from __future__ import annotations

import pytest

from hardware.panel import RATE_CONFIRM_S, GpioPanel
from hardware.sim.pins import TracedMockFactory
from hardware.trace import Trace
from station.wiring import load_wiring
from tests.appliancekit import (
    assert_all_off,
    assert_leds,
    start_running,
    tap,
    wait_state,
    wait_until,
)
from tests.engine.helpers import program, running_engine, wait_for_event

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


# --- rating on the device --------------------------------------------------------------
def _ratings(rt) -> list[dict]:
    return [e for e in list(rt.hub.recent) if e["event"] == "rating"]


@pytest.mark.slow
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
