"""The panel on traced mock pins: callbacks, hold timing, fail-safe e-stop, LED patterns,
and the pin model (contacts beat pulls, EN pull-downs)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gpiozero import DigitalInputDevice, DigitalOutputDevice

from hardware.interfaces import Panel as PanelProtocol
from hardware.panel import LED_PATTERNS, OFF, ON, Blink, GpioPanel
from hardware.sim.pins import TracedMockFactory, make_pin_factory, released_level
from hardware.trace import Trace
from station.wiring import PanelConfig, load_wiring

REQUIRED_PATTERNS = {
    "idle",
    "armed",
    "running",
    "paused",
    "rating",
    "stopped",
    "fault",
    "estop",
    "limit",
    "due",
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def config() -> PanelConfig:
    return load_wiring(None).panel


@pytest.fixture
def trace() -> Trace:
    return Trace()


@pytest.fixture
def factory(trace: Trace) -> TracedMockFactory:
    wiring = load_wiring(None)
    return make_pin_factory(
        trace=trace,
        en_pins=[h.enable_pin for h in wiring.haptic],
        estop_pin=wiring.panel.estop_pin,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def panel(
    config: PanelConfig, factory: TracedMockFactory, clock: FakeClock
) -> Iterator[tuple[GpioPanel, list]]:
    calls: list = []
    with GpioPanel(config=config, pin_factory=factory, clock=clock) as p:
        p.on_start_pressed = lambda: calls.append(("start_pressed",))
        p.on_start_released = lambda held: calls.append(("start_released", held))
        p.on_stop_pressed = lambda: calls.append(("stop_pressed",))
        p.on_estop = lambda active: calls.append(("estop", active))
        p.on_rating = lambda step: calls.append(("rating", step))
        yield p, calls


def test_is_a_panel(panel) -> None:
    assert isinstance(panel[0], PanelProtocol)


def test_start_press_release_reports_the_hold_time(panel, factory, config, clock) -> None:
    p, calls = panel
    factory.press(config.start_pin)
    assert calls == [("start_pressed",)] and p.start_held
    clock.now += 2.5  # a long press
    factory.release(config.start_pin)
    assert calls == [("start_pressed",), ("start_released", 2.5)]
    factory.press(config.start_pin)
    factory.release(config.start_pin)  # a short press
    assert calls[-1] == ("start_released", 0.0) and not p.start_held


def test_stop_press(panel, factory, config) -> None:
    _p, calls = panel
    factory.press(config.stop_pin)
    factory.release(config.stop_pin)
    assert calls == [("stop_pressed",)]


def test_estop_normally_closed_contact_is_fail_safe(panel, factory, config) -> None:
    p, calls = panel
    assert not p.estop_active  # the factory closed the contact at start-up
    factory.release(config.estop_pin)  # mushroom hit / wire cut: contact open
    assert p.estop_active and calls == [("estop", True)]
    factory.press(config.estop_pin)  # reset: contact closed again
    assert not p.estop_active and calls == [("estop", True), ("estop", False)]


def test_estop_open_or_missing_at_start_is_active(config, trace) -> None:
    factory = TracedMockFactory(trace=trace)  # nothing closes the e-stop contact
    with GpioPanel(config=config, pin_factory=factory) as p:
        assert p.estop_active
    assert p.estop_active  # a closed panel watches nothing: report active


def test_rating_buttons(panel, factory, config) -> None:
    _p, calls = panel
    for pin in (config.rating.up_pin, config.rating.up_pin, config.rating.down_pin):
        factory.press(pin)
        factory.release(pin)
    assert calls == [("rating", 1), ("rating", 1), ("rating", -1)]


def test_rating_encoder(trace) -> None:
    config = PanelConfig(
        start_pin=5,
        stop_pin=6,
        rating={"kind": "encoder", "a_pin": 20, "b_pin": 21, "button_pin": 16},
    )
    factory = TracedMockFactory(trace=trace)
    calls: list[int] = []
    with GpioPanel(config=config, pin_factory=factory) as p:
        p.on_rating = calls.append
        a, b = 20, 21

        def detent(first: int, second: int) -> None:  # one full quadrature cycle
            factory.press(first)
            factory.press(second)
            factory.release(first)
            factory.release(second)

        detent(a, b)
        detent(a, b)
        detent(b, a)
        factory.press(16)
        factory.release(16)
    assert calls == [1, 1, -1, 0]


def test_minimal_config_without_estop_leds_or_rating(trace) -> None:
    config = PanelConfig(start_pin=5, stop_pin=6)
    factory = TracedMockFactory(trace=trace)
    with GpioPanel(config=config, pin_factory=factory) as p:
        assert not p.estop_active and not p.has_estop
        p.set_leds("running")
        assert p.led_pattern == "running"
        p.off()
        assert p.led_pattern is None


def test_devices_are_released_on_close(config, factory) -> None:
    for _ in range(2):  # a second panel on the same pins: GPIOPinInUse if anything leaked
        GpioPanel(config=config, pin_factory=factory).close()


# -- LEDs ------------------------------------------------------------------------------------
def test_pattern_table_covers_every_state_and_each_is_distinct() -> None:
    assert set(LED_PATTERNS) >= REQUIRED_PATTERNS
    looks = [tuple(sorted(modes.items())) for modes in LED_PATTERNS.values()]
    assert len(set(looks)) == len(looks)
    for modes in LED_PATTERNS.values():
        assert set(modes) <= {"green", "red"}
        for mode in modes.values():
            assert mode in (ON, OFF) or (isinstance(mode, Blink) and mode.on_s > 0)


def test_solid_patterns_set_the_pins(panel, factory, config) -> None:
    p, _ = panel
    green, red = config.led_pins["green"], config.led_pins["red"]
    p.set_leds("running")
    assert (factory.level(green), factory.level(red)) == (1, 0)
    p.set_leds("stopped")
    assert (factory.level(green), factory.level(red)) == (0, 1)
    assert p.led_pattern == "stopped"
    p.off()
    assert (factory.level(green), factory.level(red)) == (0, 0) and p.led_pattern is None


def test_blink_pattern_toggles_the_pin_in_the_trace(panel, trace, config) -> None:
    p, _ = panel
    red = f"gpio{config.led_pins['red']}"
    mark = trace.last_seq()
    p.set_leds("fault")  # red 0.1 s on / 0.1 s off
    time.sleep(0.45)
    p.off()
    toggles = [r.value for r in trace.since(mark + 1) if r.device == red]
    assert toggles[:4] == [1, 0, 1, 0]


def test_unknown_pattern_is_refused(panel) -> None:
    p, _ = panel
    with pytest.raises(ValueError, match="'party' is unknown; use one of idle"):
        p.set_leds("party")


# -- the pin model ----------------------------------------------------------------------------
def test_released_en_pin_falls_low_through_its_pull_down(factory, trace) -> None:
    en = DigitalOutputDevice(17, pin_factory=factory)
    en.on()
    assert factory.level(17) == 1
    en.close()  # gpiozero makes it a floating input; the resistor pulls it low
    assert factory.level(17) == 0
    assert [r.value for r in trace.select(device="gpio17")] == [1, 0]
    assert factory.released_level(17) == 0
    assert released_level(5, pull_downs=factory.pull_downs) is None


def test_a_closed_contact_beats_the_pull_up_without_a_glitch(trace) -> None:
    factory = TracedMockFactory(trace=trace)
    factory.press(13)  # contact closed before anything owns the pin
    with DigitalInputDevice(13, pull_up=True, pin_factory=factory) as dev:
        assert dev.is_active and factory.level(13) == 0
    assert trace.select(device="gpio13") == []  # never went high
