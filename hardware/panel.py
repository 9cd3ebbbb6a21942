"""The front panel: start and stop buttons, the e-stop, status LEDs and on-device rating.

Everything is a stock gpiozero device, so the same code runs on lgpio on a Pi and on mock
pins in the simulator and in tests. The panel only reports: callbacks set flags in the
engine, which acts on its next tick (callbacks arrive on a background thread with lgpio,
synchronously with mock pins).

The e-stop is wired fail-safe: a normally-closed contact to ground with the internal
pull-up. Closed (the normal state) reads LOW; pressing the mushroom, a loose connector or a
cut wire all open the circuit, the pull-up makes the pin read HIGH, and that means ACTIVE.
A broken e-stop circuit therefore stops the station instead of silently disabling the
e-stop. Latching until reset is the engine's job; the panel reports the contact as it is.

Rating: up acts on its press (+1; a rating can reach the stop threshold, and that stop
must not wait); on a buttons-only panel, which has no confirm button, down acts on its
release: a short press is -1, a hold of ``RATE_CONFIRM_S`` confirms the rating.

The LED patterns are a table (``LED_PATTERNS``) so the README can quote it; every state
the station shows has its own pattern.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, NamedTuple

from gpiozero import LED, Button, Device, DigitalInputDevice, RotaryEncoder

from station.wiring import ButtonsRating, EncoderRating, PanelConfig

BOUNCE_S = 0.02  # 20 ms: long enough for a tactile switch, short against a press
RATE_CONFIRM_S = 1.0  # buttons-only rating: holding down this long confirms the rating


class Blink(NamedTuple):
    """An LED blinking ``on_s`` seconds on, ``off_s`` off (``n`` times, None = forever)."""

    on_s: float
    off_s: float
    n: int | None = None


LedMode = str | Blink  # "on", "off" or a Blink
ON = "on"
OFF = "off"

# pattern -> {colour: mode}. Colours the wiring lacks are skipped; colours the table does
# not name stay off. Green says "station / therapy", red says "stopped / attention".
# The pattern names are station.vocab.LED_PATTERN_NAMES, one row each (tests/engine/
# test_vocab.py checks that both agree); keyed by str so that set_leds may look up any.
LED_PATTERNS: Mapping[str, Mapping[str, LedMode]] = MappingProxyType(
    {
        "idle": {"green": Blink(0.1, 2.9), "red": OFF},  # rare heartbeat: powered, nothing to do
        "due": {"green": Blink(0.2, 0.8), "red": OFF},  # short flash each second: session due
        "armed": {"green": Blink(1.0, 1.0), "red": OFF},  # slow even blink: press start
        "running": {"green": ON, "red": OFF},  # steady green: stimulation on
        "paused": {"green": Blink(0.25, 0.25), "red": OFF},  # fast green: paused, start resumes
        "rating": {"green": ON, "red": Blink(0.5, 0.5)},  # green + red blink: rate now
        "step": {"green": Blink(0.1, 0.1), "red": OFF},  # 0.6 s of rapid green: next step
        "stopped": {"green": OFF, "red": ON},  # steady red: session stopped
        "limit": {"green": OFF, "red": Blink(0.2, 1.8)},  # red heartbeat: daily limit reached
        "fault": {"green": OFF, "red": Blink(0.1, 0.1)},  # rapid red: hardware fault
        "estop": {"green": Blink(0.5, 0.5), "red": Blink(0.5, 0.5)},  # both flash: e-stop
    }
)


class GpioPanel:
    """Buttons, e-stop, LEDs and rating (implements ``hardware.interfaces.Panel``).

    ``pin_factory``: a gpiozero pin factory (the simulator's ``TracedMockFactory``);
    ``None`` uses gpiozero's default (lgpio on a Pi). ``clock`` times the start button's
    hold (monotonic seconds; tests pass a fake clock).
    """

    def __init__(
        self,
        *,
        config: PanelConfig,
        pin_factory: Any = None,
        bounce_s: float = BOUNCE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.on_start_pressed: Callable[[], None] | None = None
        self.on_start_released: Callable[[float], None] | None = None
        self.on_stop_pressed: Callable[[], None] | None = None
        self.on_estop: Callable[[bool], None] | None = None
        self.on_rating: Callable[[int], None] | None = None
        self._clock = clock
        self._start_t: float | None = None
        self._down_t: float | None = None
        self._pattern: str | None = None
        self._led_lock = threading.Lock()
        self._devices: list[Device] = []
        self._leds: dict[str, LED] = {}
        self._estop: DigitalInputDevice | None = None
        try:
            self._build(config, pin_factory, bounce_s)
        except BaseException:
            self.close()
            raise

    def _add(self, device: Device) -> Any:
        self._devices.append(device)
        return device

    def _build(self, config: PanelConfig, pf: Any, bounce_s: float) -> None:
        self._start = self._add(
            Button(config.start_pin, pull_up=True, bounce_time=bounce_s, pin_factory=pf)
        )
        self._start.when_pressed = self._start_was_pressed
        self._start.when_released = self._start_was_released
        self._stop = self._add(
            Button(config.stop_pin, pull_up=True, bounce_time=bounce_s, pin_factory=pf)
        )
        self._stop.when_pressed = self._stop_was_pressed
        if config.estop_pin is not None:
            # pull_up=True inverts gpiozero's sense: active = pin LOW = contact closed = OK.
            self._estop = self._add(
                DigitalInputDevice(
                    config.estop_pin, pull_up=True, bounce_time=bounce_s, pin_factory=pf
                )
            )
            self._estop.when_deactivated = self._estop_opened
            self._estop.when_activated = self._estop_closed
        self._leds = {
            colour: self._add(LED(pin, pin_factory=pf)) for colour, pin in config.led_pins.items()
        }
        rating = config.rating
        if isinstance(rating, ButtonsRating):
            up = self._add(
                Button(rating.up_pin, pull_up=True, bounce_time=bounce_s, pin_factory=pf)
            )
            down = self._add(
                Button(rating.down_pin, pull_up=True, bounce_time=bounce_s, pin_factory=pf)
            )
            # No third button: a short press of down lowers the rating (on release), a
            # hold of RATE_CONFIRM_S confirms it. Up acts on press: raising a rating can
            # reach the stop threshold, and that stop must not wait for a release.
            up.when_pressed = self._rate_up
            down.when_pressed = self._down_was_pressed
            down.when_released = self._down_was_released
        elif isinstance(rating, EncoderRating):
            # Encoders bounce on every detent; gpiozero's state machine rejects the
            # wiggle, so no extra debounce. max_steps=0: count without a bound.
            encoder = self._add(
                RotaryEncoder(rating.a_pin, rating.b_pin, max_steps=0, pin_factory=pf)
            )
            encoder.when_rotated_clockwise = self._rate_up
            encoder.when_rotated_counter_clockwise = self._rate_down
            if rating.button_pin is not None:
                confirm = self._add(
                    Button(rating.button_pin, pull_up=True, bounce_time=bounce_s, pin_factory=pf)
                )
                confirm.when_pressed = self._rate_confirm

    # -- gpiozero callbacks (tiny: they only forward) ---------------------------------------
    def _start_was_pressed(self) -> None:
        self._start_t = self._clock()
        if self.on_start_pressed is not None:
            self.on_start_pressed()

    def _start_was_released(self) -> None:
        held = 0.0 if self._start_t is None else max(0.0, self._clock() - self._start_t)
        self._start_t = None
        if self.on_start_released is not None:
            self.on_start_released(held)

    def _stop_was_pressed(self) -> None:
        if self.on_stop_pressed is not None:
            self.on_stop_pressed()

    def _estop_opened(self) -> None:
        if self.on_estop is not None:
            self.on_estop(True)

    def _estop_closed(self) -> None:
        if self.on_estop is not None:
            self.on_estop(False)

    def _rate(self, step: int) -> None:
        if self.on_rating is not None:
            self.on_rating(step)

    def _rate_up(self) -> None:
        self._rate(+1)

    def _rate_down(self) -> None:
        self._rate(-1)

    def _rate_confirm(self) -> None:
        self._rate(0)

    def _down_was_pressed(self) -> None:
        self._down_t = self._clock()

    def _down_was_released(self) -> None:
        """Short press: -1; held ``RATE_CONFIRM_S`` or longer: confirm (buttons-only panels
        have no confirm button, and lowering a rating is never urgent, so it can wait for
        the release to tell the two apart)."""
        held = 0.0 if self._down_t is None else self._clock() - self._down_t
        self._down_t = None
        if held >= RATE_CONFIRM_S:
            self._rate_confirm()
        else:
            self._rate_down()

    # -- state ------------------------------------------------------------------------------
    @property
    def estop_active(self) -> bool:
        """True when the e-stop contact is open (pressed, unplugged or cut). A closed
        panel reports True: nobody is watching the e-stop any more."""
        if self._estop is None:
            return False
        if self._estop.closed:
            return True
        return not self._estop.is_active

    @property
    def has_estop(self) -> bool:
        return self.config.estop_pin is not None

    @property
    def start_held(self) -> bool:
        return self._start_t is not None

    @property
    def led_pattern(self) -> str | None:
        """The pattern shown now (``None`` after ``off()``)."""
        return self._pattern

    # -- LEDs -------------------------------------------------------------------------------
    def set_leds(self, pattern: str) -> None:
        """Show ``pattern`` from ``LED_PATTERNS``; no-op when it is already showing (the
        engine may call this every tick without restarting the blink threads)."""
        if pattern not in LED_PATTERNS:
            raise ValueError(
                f"LED pattern {pattern!r} is unknown; use one of {', '.join(LED_PATTERNS)}"
            )
        # gpiozero's blink/on/off are not safe to call on one LED from two threads at
        # once (an orphaned blink thread crashes); the engine's loop and event threads
        # both set patterns, so changes are serialised here.
        with self._led_lock:
            if pattern == self._pattern:
                return
            modes = LED_PATTERNS[pattern]
            for colour, led in self._leds.items():
                mode = modes.get(colour, OFF)
                if isinstance(mode, Blink):
                    led.blink(on_time=mode.on_s, off_time=mode.off_s, n=mode.n)
                elif mode == ON:
                    led.on()
                else:
                    led.off()
            self._pattern = pattern

    def off(self) -> None:
        """All LEDs off. Never raises."""
        with self._led_lock:
            for led in self._leds.values():
                with contextlib.suppress(Exception):
                    led.off()
            self._pattern = None

    def close(self) -> None:
        """LEDs off, then close every device (releases the pins). Safe to call twice."""
        self.off()
        for device in reversed(self._devices):
            with contextlib.suppress(Exception):
                device.close()
        self._devices.clear()

    def __enter__(self) -> GpioPanel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
